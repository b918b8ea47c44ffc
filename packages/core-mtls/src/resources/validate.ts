/**
 * Admission validation of a decoded resource: the spec rules of its type, then the `name`/`mesh`
 * rules, in the order Kuma applies them (spec `Validate()` while unmarshalling, `ValidateMeta` after).
 * Returns every violation; an empty list means valid.
 */
import type { Violation } from '../errors.ts'
import { validateDataplaneSpec } from './dataplane-validator.ts'
import { validateMeshSpec } from './mesh-validator.ts'
import { validateResourceMeta } from './names.ts'
import type { AnyResource, Resource } from './resource.ts'
import type { SecretSpec } from './secret.ts'
import { validateTrafficPermissionSpec } from './traffic-permission-validator.ts'

export function validateResource(resource: Resource): Violation[] {
  return [
    // A Resource's spec always belongs to its type; AnyResource only spells that out for narrowing.
    ...validateSpec(resource as AnyResource),
    ...validateResourceMeta(resource.type, resource.name, resource.mesh),
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
