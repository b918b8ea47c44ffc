/**
 * The store's creates and updates: statements that stamp and announce the row they write
 * themselves, which the triggers then skip (`newSpec`).
 */
import { is, Param, Placeholder, sql } from 'drizzle-orm'
import type { TypedQueryBuilder } from 'drizzle-orm/query-builders/query-builder'
import type { PrepareOptions, SqlDatabase, StoreDriver } from './driver.ts'
import { WRITER_SETTING } from './names.ts'
import { PreparedQuery } from './prepared-query.ts'
import type { ResourcesTable, ValueRow } from './resource-rows.ts'
import { keyAndVersionMatch, valueColumns, valuesOf } from './resource-rows.ts'

/**
 * The new spec, from an expression that first tells the triggers that this statement is the
 * store's (`WRITER_SETTING`, migration 0006) until its transaction ends: the server computes a
 * row's values before any trigger sees the row, and the statement stamps and announces the row
 * itself (`announced`). Set per statement, not per session, so that a session the store shares
 * (PGlite's, an embedder's) or a pooler that drops startup parameters changes nothing for other
 * writers; `drivers/pglite.ts` clears it after a write inside someone's open transaction.
 */
const newSpec = sql`case when set_config(${sql.raw(`'${WRITER_SETTING}'`)}, 'store', true) is not null then ${sql.placeholder('spec')} end`

type Action = 'create' | 'update'

function writtenColumns(r: ResourcesTable) {
  return {
    version: r.version,
    type: r.type,
    mesh: r.mesh,
    name: r.name,
    creationTime: r.creationTime,
    modificationTime: r.modificationTime,
  }
}

type Write = TypedQueryBuilder<ReturnType<typeof writtenColumns>, unknown>

/** The insert of a create, returning what it wrote. */
export function insertResource(db: SqlDatabase, r: ResourcesTable): Write {
  return db
    .insert(r)
    .values({
      type: sql.placeholder('type'),
      mesh: sql.placeholder('mesh'),
      name: sql.placeholder('name'),
      spec: newSpec,
    })
    .onConflictDoNothing()
    .returning(writtenColumns(r))
}

/** The update of an update, if the version matches, returning what it wrote. */
export function updateResource(db: SqlDatabase, r: ResourcesTable): Write {
  return db
    .update(r)
    .set({
      spec: newSpec,
      // What the BEFORE UPDATE trigger does for every other writer (migration 0002).
      version: sql`default`,
      modificationTime: sql`greatest(now(), ${r.modificationTime} + interval '1 millisecond')`,
    })
    .where(keyAndVersionMatch(r))
    .returning(writtenColumns(r))
}

/** A create or update, prepared in both forms when the driver delivers in process. */
export function announcedWrite(
  driver: StoreDriver,
  channel: string,
  action: Action,
  write: () => Write
): PreparedQuery<ValueRow> {
  const notifying = announced(driver.db, channel, action, write())
  let inProcess: PrepareOptions['inProcess']
  if (driver.deliversInProcess) {
    const reporting = announced(driver.db, channel, action, write(), true).toSQL()
    // Both forms run with the parameters of the first: they must take the same ones.
    if (!sameParameters(reporting.params, notifying.toSQL().params)) {
      throw new Error(`the two forms of ${action} take different parameters`)
    }
    inProcess = { text: reporting.sql, channel }
  }
  return new PreparedQuery(driver, notifying, (row) => valueColumns(row, 0), {
    notifies: true,
    ...(inProcess === undefined ? {} : { inProcess }),
  })
}

/**
 * A create or update that stamps and announces itself, which the triggers skip (`newSpec`): the
 * `values` of the row it wrote, and the notification the trigger would have sent, with the same
 * payload, in the same transaction. A row trigger costs a PL/pgSQL call and an after-trigger event
 * per write: 10-15% of a create or update, on either engine. `reported`: the same write returning
 * that payload as its last column instead of sending it, for a driver that hands it to its
 * listeners itself (`PrepareOptions.inProcess`).
 */
function announced(
  db: SqlDatabase,
  channel: string,
  action: Action,
  write: Write,
  reported = false
) {
  const row = db.$with('written').as(write)
  const payload = sql`json_build_object('seq', ${row.version}::text, 'action', ${sql.raw(`'${action}'`)}, 'type', ${row.type}, 'mesh', ${row.mesh}, 'name', ${row.name}, 'version', ${row.version}::text)::text`
  // A literal, not a parameter, so that both forms of a write take the same parameters
  // (`checkSchemaName` allows only a plain identifier).
  const channelLiteral = sql.raw(`'${channel}'`)
  return db
    .with(row)
    .select({
      ...valuesOf(row),
      announcement: reported ? payload : sql`pg_notify(${channelLiteral}, ${payload})`,
    })
    .from(row)
}

/** Whether two drizzle queries' parameters are the same placeholders and values, in order. */
export function sameParameters(left: readonly unknown[], right: readonly unknown[]): boolean {
  const placeholderOf = (param: unknown): unknown => {
    if (is(param, Placeholder)) return `:${param.name}`
    if (is(param, Param)) return placeholderOf(param.value)
    return param
  }
  return (
    left.length === right.length &&
    left.every((param, i) => placeholderOf(param) === placeholderOf(right[i]))
  )
}
