/**
 * The Universal form (`kumactl apply`, the HTTP API): `type`, `name`, `mesh` for mesh-scoped types,
 * then the spec fields at the top level, with no `spec:` key.
 */
import { validationError } from '../errors.ts'
import { readSpec, specToJson } from './codec.ts'
import { allowedValuesMessage, fromEntries, isRawObject, JsonReader } from './json-reader.ts'
import type { AnyResource, Resource } from './resource.ts'
import type { JsonObject, JsonValue, ResourceType } from './types.ts'
import { isMeshScoped, RESOURCE_TYPES } from './types.ts'

/** Members that are resource metadata, never spec. The times are what the HTTP API adds on reads. */
const META_FIELDS: readonly string[] = ['type', 'name', 'mesh', 'creationTime', 'modificationTime']

export function decodeUniversal(obj: unknown): AnyResource {
  if (!isRawObject(obj)) throw validationError([{ field: '', message: 'must be an object' }])
  const reader = new JsonReader()
  const type = readResourceType(obj.type, 'type', reader)
  const name = reader.string(obj.name, 'name') ?? ''
  const mesh =
    type !== undefined && isMeshScoped(type) ? (reader.string(obj.mesh, 'mesh') ?? '') : ''
  // readResourceType has said why whenever it gives no type.
  if (type === undefined) throw validationError(reader.violations.violations)
  const specJson = fromEntries(Object.entries(obj).filter(([key]) => !META_FIELDS.includes(key)))
  const spec = readSpec(type, specJson, '', reader)
  reader.throwIfAny()
  return { type, name, mesh, spec } as AnyResource
}

/** Reports a violation at `path` whenever it returns `undefined`. */
export function readResourceType(
  value: unknown,
  path: string,
  reader: JsonReader
): ResourceType | undefined {
  const text = reader.string(value, path)
  if (text === undefined || text === '') {
    if (text === '' || value === undefined || value === null) reader.fail(path, 'cannot be empty')
    return undefined
  }
  if (Object.hasOwn(RESOURCE_TYPES, text)) return text as ResourceType
  reader.fail(path, allowedValuesMessage(Object.keys(RESOURCE_TYPES)))
  return undefined
}

/**
 * The Universal JSON of `resource`. Store metadata, when present, adds `creationTime` and
 * `modificationTime` as the HTTP API shows them; decoding ignores both.
 */
export function encodeUniversal(resource: Resource): JsonObject {
  const head: Record<string, JsonValue> = { type: resource.type, name: resource.name }
  if (isMeshScoped(resource.type)) head.mesh = resource.mesh
  if (resource.meta !== undefined) {
    head.creationTime = resource.meta.creationTime.toISOString()
    head.modificationTime = resource.meta.modificationTime.toISOString()
  }
  return { ...head, ...specToJson(resource.type, resource.spec) }
}
