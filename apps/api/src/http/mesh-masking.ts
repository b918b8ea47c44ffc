/**
 * Decision 14: a private key given inline in a Mesh (`conf.key.inline` / `conf.key.inlineString` of a
 * CA backend) never leaves the API; it reads back as `***`. A client that edits what it read and
 * sends `***` back keeps the stored key rather than storing the mask.
 */
import {
  type CaBackendSpec,
  type JsonObject,
  type JsonValue,
  type Resource,
  type Violation,
  validationError,
} from '@meshca/core-mtls'

export const MASK = '***'
const INLINE_FIELDS = ['inline', 'inlineString'] as const

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function withKey(backend: CaBackendSpec, key: JsonObject): CaBackendSpec {
  return { ...backend, conf: { ...backend.conf, key } }
}

function mapBackends(
  mesh: Resource<'Mesh'>,
  map: (backend: CaBackendSpec, index: number) => CaBackendSpec
): Resource<'Mesh'> {
  const mtls = mesh.spec.mtls
  if (mtls?.backends === undefined) return mesh
  return { ...mesh, spec: { ...mesh.spec, mtls: { ...mtls, backends: mtls.backends.map(map) } } }
}

/** The Mesh as the API shows it: inline keys replaced by `***`. */
export function maskMesh(mesh: Resource<'Mesh'>): Resource<'Mesh'> {
  return mapBackends(mesh, (backend) => {
    const key = backend.conf?.key
    if (!isObject(key)) return backend
    const masked: Record<string, JsonValue> = { ...key }
    let changed = false
    for (const field of INLINE_FIELDS) {
      if (typeof key[field] === 'string') {
        masked[field] = MASK
        changed = true
      }
    }
    return changed ? withKey(backend, masked) : backend
  })
}

/**
 * The Mesh to write: each `***` key is replaced by the stored key of the backend with the same name
 * and the same kind of source. A `***` with nothing stored to keep is a violation at its field.
 */
export function restoreMaskedKeys(
  mesh: Resource<'Mesh'>,
  stored: Resource<'Mesh'> | undefined
): Resource<'Mesh'> {
  const violations: Violation[] = []
  const storedBackends = stored?.spec.mtls?.backends ?? []
  const restored = mapBackends(mesh, (backend, i) => {
    const key = backend.conf?.key
    if (!isObject(key)) return backend
    const unmasked: Record<string, JsonValue> = { ...key }
    let changed = false
    for (const field of INLINE_FIELDS) {
      if (key[field] !== MASK) continue
      const previous = storedBackends.find((b) => b.name === backend.name)?.conf?.key
      const value = isObject(previous) ? previous[field] : undefined
      if (typeof value === 'string') {
        unmasked[field] = value
        changed = true
      } else {
        violations.push({
          field: `mtls.backends[${i}].conf.key.${field}`,
          message: `"${MASK}" keeps the stored key of backend "${backend.name}", but it has no stored ${field} key: send the key itself`,
        })
      }
    }
    return changed ? withKey(backend, unmasked) : backend
  })
  if (violations.length > 0) throw validationError(violations)
  return restored
}
