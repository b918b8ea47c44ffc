/**
 * A private key given inline in a Mesh (`conf.key.inline` / `inlineString` of a CA backend) is
 * stored sealed, as Secrets are: the Mesh row, and every copy a database makes of it (WAL, backups),
 * holds ciphertext. The field keeps its name and kind, so that the API's `***` masking and a client
 * sending `***` back work as before: `inlineString` holds `meshca-sealed:v1:…`, and `inline` the
 * base64 of that text. Whoever loads the key opens it with the control plane's encryption key; a
 * key written into the store by other means (a Kubernetes manifest) is read as it is.
 */
import type { AtRestEncryption } from '../managers/at-rest-encryption.ts'
import type { CaBackendSpec } from '../resources/mesh.ts'
import type { Resource } from '../resources/resource.ts'
import type { JsonObject, JsonValue } from '../resources/types.ts'
import { toBase64, utf8 } from '../util/bytes.ts'
import { decodeInlineBase64, inlineKeyBinding, isSealedKey, SEALED_PREFIX } from './data-source.ts'

const INLINE_FIELDS = ['inline', 'inlineString'] as const

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

async function sealValue(
  encryption: AtRestEncryption,
  mesh: string,
  field: (typeof INLINE_FIELDS)[number],
  value: string
): Promise<string> {
  const bytes = field === 'inline' ? decodeInlineBase64(value) : utf8(value)
  // Not base64: validation reports it; there is nothing to seal.
  if (bytes === undefined || isSealedKey(bytes)) return value
  const sealed = `${SEALED_PREFIX}${await encryption.seal(bytes, inlineKeyBinding(mesh))}`
  return field === 'inline' ? toBase64(utf8(sealed)) : sealed
}

async function sealBackend(
  encryption: AtRestEncryption,
  mesh: string,
  backend: CaBackendSpec
): Promise<CaBackendSpec> {
  const key = backend.conf?.key
  if (!isObject(key)) return backend
  const sealed: Record<string, JsonValue> = { ...key }
  let changed = false
  for (const field of INLINE_FIELDS) {
    const value = key[field]
    if (typeof value !== 'string') continue
    sealed[field] = await sealValue(encryption, mesh, field, value)
    changed ||= sealed[field] !== value
  }
  return changed ? { ...backend, conf: { ...backend.conf, key: sealed } } : backend
}

/** `mesh` with every inline private key sealed; the same object when there was none to seal. */
export async function sealInlineKeys(
  encryption: AtRestEncryption,
  mesh: Resource<'Mesh'>
): Promise<Resource<'Mesh'>> {
  const mtls = mesh.spec.mtls
  if (mtls?.backends === undefined) return mesh
  const backends = await Promise.all(
    mtls.backends.map((backend) => sealBackend(encryption, mesh.name, backend))
  )
  if (backends.every((backend, i) => backend === mtls.backends?.[i])) return mesh
  return { ...mesh, spec: { ...mesh.spec, mtls: { ...mtls, backends } } }
}
