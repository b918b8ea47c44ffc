/**
 * What every store refuses in `list` options, with Kuma's messages, so that the same bad page size
 * or offset gives the same INVALID whatever the adapter. A store adds only its engine's own checks.
 */
import { validationError } from '../errors.ts'
import type { ResourceType } from '../resources/types.ts'
import { isMeshScoped, isResourceType } from '../resources/types.ts'
import { fromBase64, toBase64, utf8 } from '../util/bytes.ts'
import { ViolationList } from '../validation.ts'
import { DEFAULT_PAGE_SIZE, type ListOptions, MAX_PAGE_SIZE } from './store.ts'

/**
 * List offsets name the last item of the previous page, never a position, so that resources
 * created or deleted between two pages make a walk neither skip nor repeat the others.
 */
export interface ListCursor {
  readonly mesh: string
  readonly name: string
}

/** A page as a store reads it: at most `size` items after `after` in (mesh, name) order. */
export interface PageRequest {
  readonly size: number
  readonly after: ListCursor | undefined
}

export interface EngineListChecks {
  /** The engine's own checks on the options, after the common ones on type and mesh. */
  readonly check?: (type: ResourceType, options: ListOptions, violations: ViolationList) => void
  /** Whether the engine can look a well-formed offset up; one it cannot is 'Invalid format'. */
  readonly acceptsCursor?: (cursor: ListCursor) => boolean
}

/** The page the options ask for; INVALID, with every violation, when they ask for none. */
export function checkListOptions(
  type: ResourceType,
  options: ListOptions,
  engine: EngineListChecks = {}
): PageRequest {
  const violations = new ViolationList()
  if (!isResourceType(type)) {
    violations.add('type', `unknown resource type ${JSON.stringify(type)}`)
  } else if (options.mesh !== undefined) {
    if (isMeshScoped(type) && options.mesh === '') violations.add('mesh', 'cannot be empty')
    if (!isMeshScoped(type) && options.mesh !== '') {
      violations.add('mesh', 'must be empty for a global resource')
    }
  }
  engine.check?.(type, options, violations)
  const size = options.size ?? DEFAULT_PAGE_SIZE
  if (!Number.isInteger(size)) {
    violations.add('size', 'Invalid format')
  } else if (size > MAX_PAGE_SIZE) {
    violations.add('size', `Invalid page size of ${size}. Maximum page size is ${MAX_PAGE_SIZE}`)
  } else if (size < 1) {
    violations.add('size', `Invalid page size of ${size}. Minimum page size is 1`)
  }
  // Kuma reads an empty offset as the first page.
  let after: ListCursor | undefined
  if (options.offset !== undefined && options.offset !== '') {
    after = decodeListCursor(options.offset)
    if (after !== undefined && engine.acceptsCursor?.(after) === false) after = undefined
    if (after === undefined) violations.add('offset', 'Invalid format')
  }
  if (!violations.isEmpty) throw validationError(violations.violations)
  return { size, after }
}

/** Bytes that are not UTF-8 were not made by `encodeListCursor`. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

export function encodeListCursor(key: ListCursor): string {
  return toBase64(utf8(JSON.stringify([key.mesh, key.name])))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '')
}

/** `undefined` when the text is not an offset that `encodeListCursor` made. */
export function decodeListCursor(text: string): ListCursor | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(text) || text.length % 4 === 1) return undefined
  const padded = text
    .replaceAll('-', '+')
    .replaceAll('_', '/')
    .padEnd(Math.ceil(text.length / 4) * 4, '=')
  const bytes = fromBase64(padded)
  if (bytes === undefined) return undefined
  let decoded: unknown
  try {
    decoded = JSON.parse(strictUtf8.decode(bytes))
  } catch {
    return undefined
  }
  if (!Array.isArray(decoded) || decoded.length !== 2) return undefined
  const [mesh, name] = decoded as unknown[]
  if (typeof mesh !== 'string' || typeof name !== 'string') return undefined
  return { mesh, name }
}
