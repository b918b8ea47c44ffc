/**
 * What the store needs from a driver beyond drizzle's query builder: a connection that LISTENs, a
 * session that holds advisory locks, and closing. `drivers/postgres-js.ts` and `drivers/pglite.ts`
 * are the two implementations; everything else is shared.
 */
import type { SQL } from 'drizzle-orm'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'

export type SqlDatabase = PgDatabase<PgQueryResultHKT, Record<string, never>>

export interface ListenHandlers {
  readonly onPayload: (payload: string) => void
  /** The listen connection is gone; no notification arrives until `onResumed`. */
  readonly onLost: () => void
  /** LISTEN is active again on a new connection; what was committed meanwhile was not notified. */
  readonly onResumed: () => void
}

export interface ListenHandle {
  close(): Promise<void>
}

/**
 * One database session that holds session-level advisory locks (a dedicated connection on a
 * server), for leader election.
 */
export interface LockSession {
  /** Takes the lock if free; `true` when this session holds it afterwards. */
  tryLock(namespace: number, key: number): Promise<boolean>
  /** Whether this very session still holds the lock (a reconnected session does not). */
  holds(namespace: number, key: number): Promise<boolean>
  unlock(namespace: number, key: number): Promise<void>
  /** The server process of the session, for diagnostics; `undefined` when not connected. */
  backendPid(): number | undefined
  /**
   * How long a new holder must wait before acting as leader, so that a previous holder that lost the
   * lock without noticing has stopped: the lease for a server, 0 in process.
   */
  readonly mustWaitLease: boolean
  close(): Promise<void>
}

/** One row of a prepared statement: its columns in select order, as the driver decodes them. */
export type Row = readonly unknown[]

/** A statement parsed and planned once per database session, then only bound and executed. */
export interface PreparedStatement {
  run(params: readonly unknown[]): Promise<readonly Row[]>
}

export interface PrepareOptions {
  /**
   * The statement's commit sends a change notification, or hands its payload over (`inProcess`):
   * the store's creates, updates and deletes. A driver may run it where that notification costs
   * least: on a server, the store's own LISTEN connection when it is free (see
   * `drivers/postgres-js.ts`). Its creates and updates also set `WRITER_SETTING` until their
   * transaction ends (announced-writes.ts, `newSpec`).
   */
  readonly notifies?: boolean
  /**
   * For a driver that `deliversInProcess`: the same write without its NOTIFY, whose rows end with
   * the notification's payload instead, to hand to this process's listeners of `channel` when the
   * write commits as it returns; with the same parameters.
   */
  readonly inProcess?: { readonly text: string; readonly channel: string }
}

export interface StoreDriver {
  readonly kind: 'postgres' | 'pglite'
  readonly db: SqlDatabase
  /**
   * The statements the store runs per request (get, create, update, delete, list). drizzle builds
   * them; the driver runs them as named prepared statements, because parsing and planning cost more
   * than a single-row lookup: PGlite's `query()` parses every statement anew, and drizzle's PGlite
   * session adds its own per-query costs.
   */
  prepare(text: string, options?: PrepareOptions): PreparedStatement
  /**
   * Every committed change's notification reaches `listen`'s handler before the writing query
   * returns (one in-process session: PGlite). Only then may reads be cached and dropped by
   * notifications without ever being older than a completed write (`row-cache.ts`).
   */
  readonly notifiesBeforeWriteReturns: boolean
  /**
   * Every listener of the database is in this process (PGlite): the store's own writes may skip the
   * NOTIFY and have the driver hand their payload to the listeners (`PrepareOptions.inProcess`).
   */
  readonly deliversInProcess: boolean
  /**
   * How many prepared statements ran inside a transaction someone else opened on a shared session
   * (PGlite, after a BEGIN of their own): what such a read saw may never commit, and a rollback
   * announces nothing, so the store keeps no row read while the count moved. Absent: never.
   */
  uncommittedRuns?(): number
  listen(channel: string, handlers: ListenHandlers): Promise<ListenHandle>
  /**
   * A new session for advisory locks. `idleTimeoutMs`: how long the server keeps the session when
   * no query arrives, which bounds how long a lock outlives a holder the server cannot reach.
   */
  openLockSession(settings: { readonly idleTimeoutMs: number }): Promise<LockSession>
  close(): Promise<void>
}

/** Rows of a statement run through `db.execute`: postgres.js gives an array, PGlite `{ rows }`. */
export async function queryRows<Row>(db: SqlDatabase, query: SQL): Promise<Row[]> {
  const result: unknown = await db.execute(query)
  if (Array.isArray(result)) return result as Row[]
  return (result as { readonly rows: Row[] }).rows
}
