/**
 * What a read hands out of a row: the `StoredResource` of the Store port, with its spec parsed
 * from the stored JSON text, and CORRUPTED for a row that does not hold one.
 */
import type { JsonObject, ResourceKey, StoredResource } from '@meshca/core-mtls'
import { MeshcaError } from '@meshca/core-mtls'
import { deepFreeze } from '@meshca/core-mtls/adapter-kit'
import { describeKey } from './input-checks.ts'
import type { GetRow, ValueRow } from './resource-rows.ts'

/**
 * What a read of `row` hands out. The resource and its Dates are each reader's own, since the
 * Store port lets a caller change them (and freezing a Date does not stop `setTime`). So is the
 * spec of the row's first reader, the only one a lone read has: nothing else will ever hold it,
 * and freezing it would cost a third of what parsing does (2-3 us of a 60 us round trip here).
 * Further readers (a coalesced query, a cached row) share one spec, parsed and frozen once.
 */
export function readerResource(key: ResourceKey, row: GetRow): StoredResource {
  if (!row.handedOut) {
    row.handedOut = true
    return toResource(key, row, parseSpec(key, row.spec))
  }
  row.parsedSpec ??= deepFreeze(parseSpec(key, row.spec))
  return toResource(key, row, row.parsedSpec)
}

function corrupted(key: ResourceKey, what: string): MeshcaError {
  return new MeshcaError('CORRUPTED', `Resource ${what} is corrupted: ${describeKey(key)}`)
}

/** The stored JSON text as a spec; CORRUPTED (naming the resource, never the content) if it is not one. */
export function parseSpec(key: ResourceKey, text: unknown): JsonObject {
  let spec: unknown
  try {
    spec = typeof text === 'string' ? JSON.parse(text) : undefined
  } catch {
    throw corrupted(key, 'spec')
  }
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw corrupted(key, 'spec')
  return spec as JsonObject
}

export function toResource(key: ResourceKey, row: ValueRow, spec: JsonObject): StoredResource {
  const creationMs = Number(row.creationMs)
  const modificationMs = Number(row.modificationMs)
  if (!Number.isFinite(creationMs) || !Number.isFinite(modificationMs)) {
    throw corrupted(key, 'timestamp')
  }
  return {
    type: key.type,
    mesh: key.mesh,
    name: key.name,
    version: row.version,
    creationTime: new Date(creationMs),
    modificationTime: new Date(modificationMs),
    spec,
  }
}
