/**
 * Admission validation of a decoded resource: the spec rules of its type, then the `name`/`mesh`
 * rules, in the order Kuma applies them (spec `Validate()` while unmarshalling, `ValidateMeta` after).
 * Returns every violation; an empty list means valid.
 */
import type { Violation } from '../errors.ts'
import { specToJson } from './codec.ts'
import { validateDataplaneSpec } from './dataplane-validator.ts'
import { validateMeshSpec } from './mesh-validator.ts'
import { validateResourceMeta } from './names.ts'
import type { AnyResource, Resource } from './resource.ts'
import type { SecretSpec } from './secret.ts'
import { validateTrafficPermissionSpec } from './traffic-permission-validator.ts'

/**
 * What a Mesh, Dataplane or TrafficPermission may weigh as JSON: several times any real one (a
 * Dataplane with a thousand outbounds is about 60 KiB less), and little enough that a page of a
 * thousand, which a reader may ask for, stays in tens of megabytes.
 */
export const MAX_RESOURCE_BYTES = 64 * 1024

const encoder = new TextEncoder()

export function validateResource(resource: Resource): Violation[] {
  return [
    // A Resource's spec always belongs to its type; AnyResource only spells that out for narrowing.
    ...validateSpec(resource as AnyResource),
    ...validateResourceMeta(resource.type, resource.name, resource.mesh),
    ...validateSize(resource as AnyResource),
  ]
}

/** Secrets (admin-only, CA bundles) keep the body limit; insights are the control plane's. */
function validateSize(resource: AnyResource): Violation[] {
  if (
    resource.type !== 'Mesh' &&
    resource.type !== 'Dataplane' &&
    resource.type !== 'TrafficPermission'
  ) {
    return []
  }
  const json = JSON.stringify(specToJson(resource.type, resource.spec))
  // Characters first: a byte count only where it could matter.
  if (json.length * 3 <= MAX_RESOURCE_BYTES) return []
  const bytes = encoder.encode(json).length
  if (bytes <= MAX_RESOURCE_BYTES) return []
  return [
    {
      field: '',
      message: `is ${bytes} bytes as JSON; a ${resource.type} may be at most ${MAX_RESOURCE_BYTES}`,
    },
  ]
}

function validateSpec(resource: AnyResource): Violation[] {
  switch (resource.type) {
    case 'Mesh':
      return validateMeshSpec(resource.spec)
    case 'Dataplane':
      return validateDataplaneSpec(resource.spec)
    case 'TrafficPermission':
      return validateTrafficPermissionSpec(resource.spec)
    case 'Secret':
      return validateSecretSpec(resource.spec)
    // Insights are written by the control plane only, never admitted from users.
    case 'DataplaneInsight':
    case 'MeshInsight':
      return []
  }
}

export function validateSecretSpec(spec: SecretSpec): Violation[] {
  return spec.data.length === 0 ? [{ field: 'data', message: 'cannot be empty' }] : []
}
