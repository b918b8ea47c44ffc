/**
 * A resource's row as the store's statements select it (`valuesOf`, `keyMatches`) and as they
 * decode it: the columns of a prepared statement's row, in select order, as typed objects.
 */

import type { JsonObject, ResourceKey } from '@meshca/core-mtls'
import { and, eq, sql } from 'drizzle-orm'
import type { Row } from './driver.ts'
import type { StoreTables } from './schema.ts'

export type ResourcesTable = StoreTables['resources']

export interface ValueRow {
  readonly version: string
  readonly creationMs: number
  readonly modificationMs: number
}

export interface GetRow extends ValueRow {
  /** JSON text; anything else is a corrupted row. */
  readonly spec: unknown
  /** Whether a reader got this row already (`readerResource`). */
  handedOut: boolean
  /**
   * The parsed, frozen spec that the second and later readers of this row share (a coalesced
   * query, a cached row), made by the second.
   */
  parsedSpec: JsonObject | undefined
}

export interface ListRow {
  readonly total: number
  readonly item:
    | (ValueRow & { readonly spec: unknown; readonly mesh: string; readonly name: string })
    | undefined
}

/** What a query returns of a row written or read (`ValueRow`), from its table or a CTE's columns. */
export function valuesOf(row: {
  version: unknown
  creationTime: unknown
  modificationTime: unknown
}) {
  return {
    version: sql<string>`${row.version}::text`,
    // date_part is float8 all the way; extract() computes in numeric, about 10 us more per row
    // read. The columns hold whole milliseconds, so rounding recovers them exactly.
    creationMs: sql<number>`round(date_part('epoch', ${row.creationTime}) * 1000)`,
    modificationMs: sql<number>`round(date_part('epoch', ${row.modificationTime}) * 1000)`,
  }
}

/** The row of the key in the `type`, `mesh` and `name` placeholders. */
export function keyMatches(r: ResourcesTable) {
  return and(
    eq(r.type, sql.placeholder('type')),
    eq(r.mesh, sql.placeholder('mesh')),
    eq(r.name, sql.placeholder('name'))
  )
}

/** The values of `keyMatches`' placeholders. */
export function keyPlaceholders(key: ResourceKey): Record<string, string> {
  return { type: key.type, mesh: key.mesh, name: key.name }
}

/** The row of the key, if its version is the one in the `version` placeholder. */
export function keyAndVersionMatch(r: ResourcesTable) {
  return and(keyMatches(r), eq(r.version, sql.placeholder('version')))
}

/** The columns of `values` (version, creation and modification time), starting at `at`. */
export function valueColumns(row: Row, at: number): ValueRow {
  return {
    version: String(row[at]),
    creationMs: Number(row[at + 1]),
    modificationMs: Number(row[at + 2]),
  }
}

export function versionColumn(row: Row): { readonly version: string } {
  return { version: String(row[0]) }
}

/** A get's row: a `ValueRow`'s columns, then the spec. */
export function getColumns(row: Row): GetRow {
  // valueColumns' fields written out, not spread: a spread object that later gets its `parsedSpec`
  // set costs about 5 us more per read (measured with a driver that answers at once).
  return {
    version: String(row[0]),
    creationMs: Number(row[1]),
    modificationMs: Number(row[2]),
    spec: row[3],
    handedOut: false,
    parsedSpec: undefined,
  }
}

/** A list's row: the total, then a `ValueRow`'s columns, the spec, mesh and name. */
export function listColumns(row: Row): ListRow {
  return {
    total: Number(row[0]),
    // No page row (an empty page): the left join's columns are null.
    item:
      typeof row[5] === 'string' && typeof row[6] === 'string'
        ? { mesh: row[5], name: row[6], ...valueColumns(row, 1), spec: row[4] }
        : undefined,
  }
}
