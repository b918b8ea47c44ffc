/**
 * What the store refuses before any SQL runs, with core's messages where it has them, so that the
 * same bad input gives the same INVALID whatever the adapter. The limits beyond the memory
 * store's are those of the columns: a name longer than the column, text PostgreSQL cannot store.
 */
import type {
  EngineListChecks,
  JsonObject,
  ListOptions,
  PageRequest,
  ResourceKey,
  ResourceType,
} from '@meshca/core-mtls'
import {
  checkListOptions as checkCoreListOptions,
  isMeshScoped,
  isResourceType,
  MeshcaError,
  ViolationList,
} from '@meshca/core-mtls'
import { storable, storableCursor } from './cursor.ts'
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

/** Core's checks of list options, and those of the columns: text PostgreSQL cannot store. */
export function checkListOptions(type: ResourceType, options: ListOptions): PageRequest {
  return checkCoreListOptions(type, options, POSTGRES_LIST_CHECKS)
}

const POSTGRES_LIST_CHECKS: EngineListChecks = {
  check(type, options, violations) {
    if (isResourceType(type) && options.mesh !== undefined && !storable(options.mesh)) {
      violations.add('mesh', 'cannot contain the NUL character or unpaired surrogates')
    }
    if (options.nameContains !== undefined && !storable(options.nameContains)) {
      violations.add('nameContains', 'cannot contain the NUL character or unpaired surrogates')
    }
  },
  acceptsCursor: storableCursor,
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
