/**
 * Private keys given inline in a Mesh (`conf.key.inline` / `inlineString` of a CA backend): never
 * shown (`***` in answers), never stored in clear (sealed, as Secrets are), and never mistaken for a
 * change when a client sends back what it read or re-applies the manifest it wrote.
 *
 * Sealed, the field keeps its name and kind: `inlineString` holds `meshca-sealed:v1:…`, and `inline`
 * the base64 of that text. Loading a data source opens it with the control plane's encryption key; a
 * key written into the store by other means (a Kubernetes manifest) is read as it is.
 */
import { type Violation, validationError } from '../errors.ts'
import type { AtRestEncryption } from '../managers/at-rest-encryption.ts'
import type { CaBackendSpec } from '../resources/mesh.ts'
import type { Resource } from '../resources/resource.ts'
import type { JsonObject, JsonValue } from '../resources/types.ts'
import { bytesEqual, toBase64, utf8 } from '../util/bytes.ts'
import {
  decodeInlineBase64,
  inlineKeyBinding,
  isSealedKey,
  openSealedKey,
  SEALED_PREFIX,
} from './data-source.ts'

/** What answers show instead of an inline key; sent back, it keeps the stored one. */
export const MASK = '***'
const INLINE_FIELDS = ['inline', 'inlineString'] as const
type InlineField = (typeof INLINE_FIELDS)[number]

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The bytes an inline value stands for (`inline` is base64); `undefined` when it is not base64. */
function bytesOf(field: InlineField, value: string): Uint8Array | undefined {
  return field === 'inline' ? decodeInlineBase64(value) : utf8(value)
}

type KeyMapper = (
  backend: CaBackendSpec,
  index: number,
  field: InlineField,
  value: string
) => Promise<string> | string

/** `mesh` with each inline key value replaced by `map`'s; the same object when none changed. */
async function mapInlineKeys(mesh: Resource<'Mesh'>, map: KeyMapper): Promise<Resource<'Mesh'>> {
  const mtls = mesh.spec.mtls
  if (mtls?.backends === undefined) return mesh
  let changed = false
  const backends = await Promise.all(
    mtls.backends.map(async (backend, index) => {
      const key = backend.conf?.key
      if (!isObject(key)) return backend
      const mapped: Record<string, JsonValue> = { ...key }
      for (const field of INLINE_FIELDS) {
        const value = key[field]
        if (typeof value === 'string') mapped[field] = await map(backend, index, field, value)
      }
      if (INLINE_FIELDS.every((field) => mapped[field] === key[field])) return backend
      changed = true
      return { ...backend, conf: { ...backend.conf, key: mapped } }
    })
  )
  return changed ? { ...mesh, spec: { ...mesh.spec, mtls: { ...mtls, backends } } } : mesh
}

/** The Mesh as answers show it: inline keys replaced by `***`. */
export function maskInlineKeys(mesh: Resource<'Mesh'>): Resource<'Mesh'> {
  const mtls = mesh.spec.mtls
  if (mtls?.backends === undefined) return mesh
  const backends = mtls.backends.map((backend) => {
    const key = backend.conf?.key
    if (!isObject(key) || INLINE_FIELDS.every((f) => typeof key[f] !== 'string')) return backend
    const masked: Record<string, JsonValue> = { ...key }
    for (const field of INLINE_FIELDS) if (typeof key[field] === 'string') masked[field] = MASK
    return { ...backend, conf: { ...backend.conf, key: masked } }
  })
  return { ...mesh, spec: { ...mesh.spec, mtls: { ...mtls, backends } } }
}

/** `mesh` with every inline private key sealed; the same object when there was none to seal. */
export function sealInlineKeys(
  encryption: AtRestEncryption,
  mesh: Resource<'Mesh'>
): Promise<Resource<'Mesh'>> {
  return mapInlineKeys(mesh, async (_backend, _index, field, value) => {
    const bytes = bytesOf(field, value)
    // Not base64: validation reports it; there is nothing to seal.
    if (bytes === undefined || isSealedKey(bytes)) return value
    const sealed = `${SEALED_PREFIX}${await encryption.seal(bytes, inlineKeyBinding(mesh.name))}`
    return field === 'inline' ? toBase64(utf8(sealed)) : sealed
  })
}

function storedValue(
  stored: Resource<'Mesh'> | undefined,
  backend: string,
  field: InlineField
): string | undefined {
  const key = stored?.spec.mtls?.backends?.find((b) => b.name === backend)?.conf?.key
  const value = isObject(key) ? key[field] : undefined
  return typeof value === 'string' ? value : undefined
}

/** The stored value stands for the same key as `sent` (sealed or not). */
async function sameKey(
  encryption: AtRestEncryption | undefined,
  mesh: string,
  field: InlineField,
  sent: string,
  stored: string
): Promise<boolean> {
  if (sent === stored) return true
  const [sentBytes, storedBytes] = [bytesOf(field, sent), bytesOf(field, stored)]
  if (sentBytes === undefined || storedBytes === undefined || !isSealedKey(storedBytes)) {
    return false
  }
  try {
    return bytesEqual(await openSealedKey(encryption, mesh, storedBytes), sentBytes)
  } catch {
    return false
  }
}

/**
 * The Mesh to write: an inline key sent as `***`, or sent as the very key the stored backend of the
 * same name holds (a manifest applied again), keeps the stored value, so that the update is no CA
 * change and seals nothing anew. A `***` with nothing stored to keep is a violation at its field.
 */
export async function keepStoredInlineKeys(
  encryption: AtRestEncryption | undefined,
  mesh: Resource<'Mesh'>,
  stored: Resource<'Mesh'> | undefined
): Promise<Resource<'Mesh'>> {
  const violations: Violation[] = []
  const kept = await mapInlineKeys(mesh, async (backend, index, field, value) => {
    const previous = storedValue(stored, backend.name, field)
    if (value === MASK) {
      if (previous !== undefined) return previous
      violations.push({
        field: `mtls.backends[${index}].conf.key.${field}`,
        message: `"${MASK}" keeps the stored key of backend "${backend.name}", but it has no stored ${field} key: send the key itself`,
      })
      return value
    }
    if (previous === undefined) return value
    return (await sameKey(encryption, mesh.name, field, value, previous)) ? previous : value
  })
  if (violations.length > 0) throw validationError(violations)
  return kept
}
