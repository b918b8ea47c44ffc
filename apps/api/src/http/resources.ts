/** Resources in and out of the API: the Universal JSON form, checked against the URL it came to. */
import {
  decodeUniversal,
  encodeUniversal,
  isMeshScoped,
  type JsonObject,
  MeshcaError,
  maskInlineKeys,
  type Resource,
  type ResourceType,
  type SecretRecord,
  type Violation,
  validateResource,
  validationError,
} from '@meshca/core-mtls'
import type { Context } from 'hono'

export interface UrlKey<T extends ResourceType> {
  readonly type: T
  /** `''` for global types. */
  readonly mesh: string
  readonly name: string
}

function isOfType<T extends ResourceType>(resource: Resource, type: T): resource is Resource<T> {
  return resource.type === type
}

/**
 * The resource a PUT body describes, after Kuma's checks (`validateResourceRequest`): name, type and
 * mesh must be those of the URL; then the spec and name rules of the type.
 */
export function resourceFromBody<T extends ResourceType>(
  body: unknown,
  url: UrlKey<T>
): Resource<T> {
  const resource: Resource = decodeUniversal(body)
  const violations: Violation[] = []
  if (resource.name !== url.name) {
    violations.push({ field: 'name', message: 'name from the URL has to be the same as in body' })
  }
  if (resource.type !== url.type) {
    violations.push({ field: 'type', message: 'type from the URL has to be the same as in body' })
  }
  if (isMeshScoped(url.type) && resource.mesh !== url.mesh) {
    violations.push({ field: 'mesh', message: 'mesh from the URL has to be the same as in body' })
  }
  if (violations.length > 0 || !isOfType(resource, url.type)) throw validationError(violations)
  const invalid = validateResource(resource)
  if (invalid.length > 0) throw validationError(invalid)
  return resource
}

/** `sent` with the store version of `stored`, for an update that fails if another writer got in between. */
export function withVersionOf<T extends ResourceType>(
  sent: Resource<T>,
  stored: Resource<T>
): Resource<T> {
  return stored.meta === undefined ? sent : { ...sent, meta: stored.meta }
}

/** A resource as the API returns it; Meshes with their inline keys masked. */
export function resourceJson(resource: Resource): JsonObject {
  return encodeUniversal(isOfType(resource, 'Mesh') ? maskInlineKeys(resource) : resource)
}

/**
 * The JSON text of each frozen resource answered with. The ResourceManager hands every reader of a
 * version the same frozen object, so a hot resource is encoded once per change, not per request.
 */
const bodies = new WeakMap<Resource, string>()

/** `resourceJson` as text. */
export function resourceBody(resource: Resource): string {
  const known = bodies.get(resource)
  if (known !== undefined) return known
  const body = JSON.stringify(resourceJson(resource))
  if (Object.isFrozen(resource)) bodies.set(resource, body)
  return body
}

/** A 200 answering with `resource`, as `c.json(resourceJson(resource))` would. */
export function resourceResponse(c: Context, resource: Resource): Response {
  return c.body(resourceBody(resource), 200, JSON_CONTENT_TYPE)
}

const JSON_CONTENT_TYPE = { 'Content-Type': 'application/json' }

export function secretJson(secret: SecretRecord): JsonObject {
  return encodeUniversal({
    type: 'Secret',
    name: secret.name,
    mesh: secret.mesh,
    spec: { data: secret.data },
    meta: {
      version: secret.version,
      creationTime: secret.creationTime,
      modificationTime: secret.modificationTime,
    },
  })
}

export function notFound(type: string, name: string, mesh?: string): MeshcaError {
  const where = mesh === undefined ? '' : ` mesh=${JSON.stringify(mesh)}`
  return new MeshcaError(
    'NOT_FOUND',
    `Resource not found: type=${JSON.stringify(type)} name=${JSON.stringify(name)}${where}`
  )
}
