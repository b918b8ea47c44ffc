/**
 * What the store refuses before any SQL runs, with the memory store's messages where it has them, so
 * that the same bad input gives the same INVALID whatever the adapter. The limits beyond the memory
 * store's are those of the columns: a name longer than the column, text PostgreSQL cannot store.
 */
import type { JsonObject, ListOptions, ResourceKey, ResourceType } from '@meshca/core-mtls'
import {
  DEFAULT_PAGE_SIZE,
  isMeshScoped,
  isResourceType,
  MAX_PAGE_SIZE,
  MeshcaError,
  ViolationList,
  validationError,
} from '@meshca/core-mtls'
import type { CursorKey } from './cursor.ts'
import { decodeCursor, storable } from './cursor.ts'
import { KEY_COLUMN_LENGTH } from './schema.ts'

/** A spec this large is a mistake, not a resource: Kubernetes objects stop at 1.5 MiB. */
export const DEFAULT_MAX_SPEC_BYTES = 1024 * 1024

export function checkKey(key: ResourceKey): void {
  const violations = new ViolationList()
  if (!isResourceType(key.type)) {
    violations.add('type', `unknown resource type ${JSON.stringify(key.type)}`)
  } else if (isMeshScoped(key.type)) {
    if (key.mesh === '') violations.add('mesh', 'cannot be empty')
    else checkKeyText(violations, 'mesh', key.mesh)
  } else if (key.mesh !== '') {
    violations.add('mesh', 'must be empty for a global resource')
  }
  if (key.name === '') violations.add('name', 'cannot be empty')
  else checkKeyText(violations, 'name', key.name)
  violations.throwIfAny()
}

function checkKeyText(violations: ViolationList, field: string, value: string): void {
  // Counted in code points, as varchar counts characters; one UTF-16 unit each is the common case.
  if (value.length > KEY_COLUMN_LENGTH && [...value].length > KEY_COLUMN_LENGTH) {
    violations.add(field, `cannot be longer than ${KEY_COLUMN_LENGTH} characters`)
  } else if (!storable(value)) {
    violations.add(field, 'cannot contain the NUL character or unpaired surrogates')
  }
}

export interface PageRequest {
  readonly size: number
  readonly after: CursorKey | undefined
}

export function checkListOptions(type: ResourceType, options: ListOptions): PageRequest {
  const violations = new ViolationList()
  if (!isResourceType(type)) {
    violations.add('type', `unknown resource type ${JSON.stringify(type)}`)
  } else if (options.mesh !== undefined) {
    if (isMeshScoped(type) && options.mesh === '') violations.add('mesh', 'cannot be empty')
    if (!isMeshScoped(type) && options.mesh !== '') {
      violations.add('mesh', 'must be empty for a global resource')
    }
    if (!storable(options.mesh)) {
      violations.add('mesh', 'cannot contain the NUL character or unpaired surrogates')
    }
  }
  if (options.nameContains !== undefined && !storable(options.nameContains)) {
    violations.add('nameContains', 'cannot contain the NUL character or unpaired surrogates')
  }
  const size = options.size ?? DEFAULT_PAGE_SIZE
  if (!Number.isInteger(size)) {
    violations.add('size', 'Invalid format')
  } else if (size > MAX_PAGE_SIZE) {
    violations.add('size', `Invalid page size of ${size}. Maximum page size is ${MAX_PAGE_SIZE}`)
  } else if (size < 1) {
    violations.add('size', `Invalid page size of ${size}. Minimum page size is 1`)
  }
  // Kuma reads an empty offset as the first page.
  const after =
    options.offset === undefined || options.offset === '' ? undefined : decodeCursor(options.offset)
  if (options.offset !== undefined && options.offset !== '' && after === undefined) {
    violations.add('offset', 'Invalid format')
  }
  if (!violations.isEmpty) throw validationError(violations.violations)
  return { size, after }
}

/** The spec as the JSON text to store; INVALID when it is not a JSON object or too large. */
export function serializeSpec(spec: JsonObject, maxBytes: number): string {
  let text: string | undefined
  try {
    text = JSON.stringify(spec)
  } catch {
    text = undefined
  }
  if (text === undefined || !text.startsWith('{')) {
    throw new MeshcaError('INVALID', 'spec: must be a JSON object', {
      violations: [{ field: 'spec', message: 'must be a JSON object' }],
    })
  }
  // At most 3 UTF-8 bytes per UTF-16 unit: most specs need no exact count.
  if (text.length * 3 > maxBytes) {
    const bytes = new TextEncoder().encode(text).length
    if (bytes > maxBytes) {
      const message = `is too large: ${bytes} bytes of JSON, the limit is ${maxBytes}`
      throw new MeshcaError('INVALID', `spec: ${message}`, {
        violations: [{ field: 'spec', message }],
      })
    }
  }
  return text
}

const INT8_MAX = '9223372036854775807'

/**
 * The version as the database holds it, or `undefined` when no row can have it: versions are
 * positive `bigint`s written without leading zeros, so "01" must not match version 1.
 */
export function canonicalVersion(version: string): string | undefined {
  if (!/^[1-9][0-9]{0,18}$/.test(version)) return undefined
  if (version.length === INT8_MAX.length && version > INT8_MAX) return undefined
  return version
}

export function describeKey(key: ResourceKey): string {
  return `type=${JSON.stringify(key.type)} name=${JSON.stringify(key.name)} mesh=${JSON.stringify(key.mesh)}`
}
