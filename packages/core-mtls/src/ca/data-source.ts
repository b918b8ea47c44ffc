import { isMeshcaError, MeshcaError, type Violation } from '../errors.ts'
import type { AtRestEncryption } from '../managers/at-rest-encryption.ts'
import type { DataSource } from '../resources/mesh.ts'
import { fromBase64, fromUtf8, utf8 } from '../util/bytes.ts'
import { joinPath } from '../validation.ts'
import type { CaContext } from './ca-backend.ts'

/** The keys of Kuma's `DataSource` oneof, in proto order. */
const SOURCE_KEYS = ['secret', 'file', 'inline', 'inlineString'] as const
type SourceKey = (typeof SOURCE_KEYS)[number]

/** Kuma's wording, which leaves out `inlineString` although it is accepted. */
export const DATA_SOURCE_NOT_CHOSEN =
  'data source has to be chosen. Available sources: secret, file, inline'

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function describeType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  return typeof value
}

/** Keys holding a value; protojson treats `null` as unset, so `secret: ~` in YAML is no choice. */
function chosenKeys(source: Readonly<Record<string, unknown>>): SourceKey[] {
  return SOURCE_KEYS.filter((key) => source[key] !== undefined && source[key] !== null)
}

/**
 * protojson's reading of a `bytes` field: standard or URL-safe alphabet, padding optional, line
 * breaks ignored (YAML folds long base64 over several lines).
 */
export function decodeInlineBase64(text: string): Uint8Array | undefined {
  let compact = text.replace(/[\r\n]/g, '')
  if (/[-_]/.test(compact)) {
    if (/[+/]/.test(compact)) return undefined
    compact = compact.replace(/-/g, '+').replace(/_/g, '/')
  }
  if (compact.length % 4 !== 0) {
    if (compact.includes('=')) return undefined
    compact = compact.padEnd(compact.length + ((4 - (compact.length % 4)) % 4), '=')
  }
  return fromBase64(compact)
}

/**
 * Why a value cannot be read as a `DataSource` at all (Kuma's `ToTyped` failing: wrong JSON types,
 * two sources at once, `inline` that is not base64), relative to the data source; `undefined` when
 * it can. Unknown keys are ignored, as protojson is told to discard them.
 */
export function dataSourceShapeError(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined
  if (!isRecord(value)) return `expected an object, got ${describeType(value)}`
  for (const key of chosenKeys(value)) {
    const field = value[key]
    if (typeof field !== 'string') return `${key}: expected a string, got ${describeType(field)}`
    if (key === 'inline' && decodeInlineBase64(field) === undefined) {
      return 'inline: not valid base64'
    }
  }
  const chosen = chosenKeys(value)
  if (chosen.length > 1) {
    return `only one of secret, file, inline, inlineString can be set, got ${chosen.join(' and ')}`
  }
  return undefined
}

/**
 * Kuma's `datasource.Validate` (docs/kuma-compatibility.md §1.5), with violations rooted at `path`.
 * An empty `inlineString` passes, as in Kuma: it fails later as "not a valid TLS key pair".
 */
export function validateDataSource(ds: unknown, path: string): Violation[] {
  if (!isRecord(ds)) return [{ field: path, message: DATA_SOURCE_NOT_CHOSEN }]
  const shapeError = dataSourceShapeError(ds)
  if (shapeError !== undefined) return [{ field: path, message: shapeError }]
  const [key] = chosenKeys(ds)
  if (key === undefined) return [{ field: path, message: DATA_SOURCE_NOT_CHOSEN }]
  if (key !== 'inlineString' && ds[key] === '') {
    return [{ field: joinPath(path, key), message: 'cannot be empty' }]
  }
  return []
}

/** The typed view of a data source that `validateDataSource` accepted. */
export function asDataSource(value: unknown): DataSource | undefined {
  if (!isRecord(value)) return undefined
  const [key] = chosenKeys(value)
  const text = key === undefined ? undefined : value[key]
  if (key === undefined || typeof text !== 'string') return undefined
  switch (key) {
    case 'secret':
      return { secret: text }
    case 'file':
      return { file: text }
    case 'inline':
      return { inline: text }
    case 'inlineString':
      return { inlineString: text }
  }
}

function loadError(cause: string, error?: unknown): MeshcaError {
  return new MeshcaError('CA_UNAVAILABLE', `could not load data: ${cause}`, { cause: error })
}

/** A CA file is a few certificates; a chain of ten is under 20 KiB. */
export const MAX_CA_FILE_BYTES = 256 * 1024

/** Why a `file` source is refused where the host gives no file access (operators turn it on). */
export const FILE_SOURCES_DISABLED =
  'file data sources are disabled on this control plane: an operator enables them (--allow-file-data-sources)'

/**
 * One message for every failure to read a file, whatever the cause: a missing path, a directory,
 * a device or a file too big read alike (what a readable file holds is another matter).
 */
function unreadableFile(path: string, cause?: unknown): MeshcaError {
  return loadError(
    `open ${path}: not a readable regular file of at most ${MAX_CA_FILE_BYTES} bytes`,
    cause
  )
}

/** Sealed inline keys (see inline-keys.ts) start so; no PEM or DER key does. */
export const SEALED_PREFIX = 'meshca-sealed:'

/** A sealed inline key copied into another mesh no longer decrypts. */
export function inlineKeyBinding(mesh: string): readonly string[] {
  return ['meshca/mesh-inline-key/v1', mesh]
}

export function isSealedKey(bytes: Uint8Array): boolean {
  if (bytes.length < SEALED_PREFIX.length) return false
  return fromUtf8(bytes.subarray(0, SEALED_PREFIX.length)) === SEALED_PREFIX
}

/**
 * The key inside sealed bytes; CA_UNAVAILABLE when it does not open (another mesh or key,
 * tampering).
 */
export async function openSealedKey(
  encryption: AtRestEncryption | undefined,
  mesh: string,
  bytes: Uint8Array
): Promise<Uint8Array> {
  if (encryption === undefined) {
    throw loadError('the inline key is sealed, and this control plane has no encryption key')
  }
  const envelope = fromUtf8(bytes).slice(SEALED_PREFIX.length)
  try {
    return await encryption.open(envelope, inlineKeyBinding(mesh), 'the sealed inline key')
  } catch (error) {
    throw loadError(error instanceof Error ? error.message : String(error), error)
  }
}

/**
 * The bytes of a data source (Kuma's dynamic loader). Failures to find the data are CA_UNAVAILABLE
 * `could not load data: …`; an error of the secret store itself (store down, undecryptable row)
 * keeps its own code, so that an outage is not reported as a broken CA.
 */
export async function loadDataSource(
  ctx: CaContext,
  mesh: string,
  ds: DataSource
): Promise<Uint8Array> {
  if ('secret' in ds) {
    let secret: Awaited<ReturnType<CaContext['secrets']['get']>>
    try {
      secret = await ctx.secrets.get(mesh, ds.secret)
    } catch (error) {
      if (isMeshcaError(error)) throw error
      throw loadError(error instanceof Error ? error.message : String(error), error)
    }
    if (secret === undefined) {
      throw loadError(`Resource not found: type="Secret" name="${ds.secret}" mesh="${mesh}"`)
    }
    return secret.data
  }
  if ('inline' in ds || 'inlineString' in ds) {
    const bytes = 'inline' in ds ? decodeInlineBase64(ds.inline) : utf8(ds.inlineString)
    if (bytes === undefined) throw loadError('illegal base64 data in inline')
    return isSealedKey(bytes) ? openSealedKey(ctx.encryption, mesh, bytes) : bytes
  }
  if ('file' in ds) {
    const readFile = ctx.readFile
    if (readFile === undefined) throw loadError(FILE_SOURCES_DISABLED)
    let bytes: Uint8Array
    try {
      bytes = await readFile(ds.file, MAX_CA_FILE_BYTES)
    } catch (error) {
      throw unreadableFile(ds.file, error)
    }
    if (bytes.length > MAX_CA_FILE_BYTES) throw unreadableFile(ds.file)
    return bytes
  }
  throw loadError('unsupported type of the DataSource')
}
