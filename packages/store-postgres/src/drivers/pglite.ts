/**
 * The embedded driver: PGlite, PostgreSQL compiled to WebAssembly, running in this process over a
 * local data directory (or in memory). The same schema, migrations and queries as on a server;
 * what differs is what "one process" makes simpler: the single session sees its own notifications,
 * so change events work as on a server, and leader election is among this process's contenders.
 */
import type { QueryOptions, Transaction } from '@electric-sql/pglite'
import { PGlite, protocol } from '@electric-sql/pglite'
import { silentLogger } from '@meshca/core-mtls'
import { drizzle } from 'drizzle-orm/pglite'
import type { LockSession, PreparedStatement, Row, SqlDatabase, StoreDriver } from '../driver.ts'
import { DEFAULT_MAX_SPEC_BYTES } from '../input-checks.ts'
import { applyMigrations } from '../migrate.ts'
import { CHANGE_LOG_SETTING, checkSchemaName, DEFAULT_SCHEMA } from '../names.ts'
import type { CommonStoreOptions } from '../options.ts'
import {
  DEFAULT_EVENT_RETENTION_MS,
  DEFAULT_PRUNE_INTERVAL_MS,
  DEFAULT_READ_CACHE_BYTES,
  wholeNumberOption,
} from '../options.ts'
import { toStoreError } from '../sql-errors.ts'
import type { PostgresStore } from '../store.ts'
import { openSqlStore } from '../store.ts'

export interface PgliteStoreOptions extends CommonStoreOptions {
  /** The data directory, created on first use; omit (and omit `pglite`) for a database in memory. */
  readonly dataDir?: string
  /**
   * An open PGlite database to use instead of opening one, so that several stores (or a store and
   * its tests) share it. The store does not close it.
   */
  readonly pglite?: PGlite
  /**
   * Memory for rows read by key (`readCacheBytes`, default 16 MiB, 0 for none) is kept until a
   * change notification drops them. Exact for every write that goes through this PGlite instance
   * (the store's, another store's, SQL sent to it), because PGlite announces a change before the
   * write returns. Writes that bypass the triggers (`session_replication_role = replica`, disabled
   * triggers) are not seen.
   */
  readonly readCacheBytes?: number
}

export async function createPgliteStore(options: PgliteStoreOptions = {}): Promise<PostgresStore> {
  const schema = checkSchemaName(options.schema ?? DEFAULT_SCHEMA)
  const readCacheBytes = wholeNumberOption(
    options.readCacheBytes,
    DEFAULT_READ_CACHE_BYTES,
    'readCacheBytes'
  )
  const logger = options.logger ?? silentLogger
  const owned = options.pglite === undefined
  let pglite: PGlite
  try {
    pglite = options.pglite ?? (await PGlite.create(options.dataDir))
  } catch (error) {
    throw toStoreError(error, 'open the embedded database')
  }
  const db = drizzle(withoutPerQueryParsers(pglite)) as unknown as SqlDatabase
  try {
    await applyMigrations(db, {
      schema,
      logger,
      ...(options.migrationsFolder === undefined
        ? {}
        : { migrationsFolder: options.migrationsFolder }),
    })
    // Writes on this session notify without adding to the change log (migration 0004): the log is
    // what a listener replays after losing its connection, and PGlite's listeners are in this
    // process. Someone else's RESET ALL or DISCARD ALL on a shared instance only brings the log back.
    await pglite.exec(`SET ${CHANGE_LOG_SETTING} TO 'notify'`)
    const database = pglite
    const driver: StoreDriver = {
      kind: 'pglite',
      db,
      // PGlite queues the callbacks of a commit's notifications while it runs the commit, ahead of
      // the writer's continuation and of the next query.
      notifiesBeforeWriteReturns: true,
      // The session may be the embedder's too, and its writes must go through the triggers.
      writesAnnounceThemselves: false,
      prepare: (text) => prepareOnPglite(database, text),
      async listen(channel, handlers) {
        const unlisten = await database.listen(`"${channel}"`, handlers.onPayload)
        return { close: () => unlisten() }
      },
      openLockSession: async () => openProcessLockSession(database),
      close: async () => {
        if (owned) await database.close()
      },
    }
    return await openSqlStore(driver, {
      schema,
      logger,
      maxSpecBytes: options.maxSpecBytes ?? DEFAULT_MAX_SPEC_BYTES,
      readCacheBytes,
      // Exact without one: notifications land before the write returns.
      readCacheMaxAgeMs: 0,
      eventRetentionMs: options.eventRetentionMs ?? DEFAULT_EVENT_RETENTION_MS,
      pruneIntervalMs: options.pruneIntervalMs ?? DEFAULT_PRUNE_INTERVAL_MS,
    })
  } catch (error) {
    if (owned) await pglite.close().catch(() => {})
    throw toStoreError(error, 'open the store')
  }
}

/** Lock holders per embedded database: only this process can open it, so the locks live here. */
const processLocks = new WeakMap<PGlite, Map<string, object>>()

function openProcessLockSession(database: PGlite): LockSession {
  let locks = processLocks.get(database)
  if (locks === undefined) {
    locks = new Map()
    processLocks.set(database, locks)
  }
  const held = locks
  const self = {}
  const id = (namespace: number, key: number) => `${namespace}/${key}`
  return {
    mustWaitLease: false,
    async tryLock(namespace, key) {
      if (database.closed) throw new Error('PGlite is closed')
      const lock = id(namespace, key)
      const owner = held.get(lock)
      if (owner === undefined) held.set(lock, self)
      return (owner ?? self) === self
    },
    async holds(namespace, key) {
      if (database.closed) throw new Error('PGlite is closed')
      return held.get(id(namespace, key)) === self
    },
    async unlock(namespace, key) {
      if (held.get(id(namespace, key)) === self) held.delete(id(namespace, key))
    },
    backendPid: () => undefined,
    async close() {
      for (const [lock, owner] of held) if (owner === self) held.delete(lock)
    },
  }
}

/** What drizzle's PGlite session calls on its client. */
interface DrizzleClient {
  query: Transaction['query']
  transaction<T>(callback: (tx: Pick<Transaction, 'query'>) => Promise<T>): Promise<T>
}

/**
 * drizzle's PGlite session sends its own `parsers` (to keep dates, times and intervals as text) with
 * every query, and PGlite copies its whole table of type parsers to merge them in, on every query:
 * about 0.2 ms here, more than a single-row query itself. The store reads none of those types (times
 * come back as epoch milliseconds), so its queries go without them and use PGlite's own parsers.
 */
function withoutPerQueryParsers(pglite: PGlite): PGlite {
  const query =
    (target: Pick<Transaction, 'query'>): Transaction['query'] =>
    (text, params, options) =>
      target.query(text, params, options === undefined ? undefined : dropParsers(options))
  const client: DrizzleClient = {
    query: query(pglite),
    transaction: (callback) => pglite.transaction((tx) => callback({ query: query(tx) })),
  }
  // drizzle keeps the client as `db.$client`, typed as PGlite; the store never reads it.
  return client as unknown as PGlite
}

function dropParsers(options: QueryOptions): QueryOptions {
  const { parsers: _ignored, ...rest } = options
  return rest
}

/** The statements prepared in each embedded database's one session, by statement text. */
const preparedStatements = new WeakMap<PGlite, Map<string, { name: string; parsed: boolean }>>()

/**
 * PGlite's `query()` sends parse, describe, bind, describe, execute and sync, each its own call into
 * PostgreSQL, and plans the statement every time. A named statement is parsed once; each run is one
 * call with bind, execute and sync. Runs wait for PGlite's locks as `query()` does, so they never
 * land inside another caller's transaction.
 */
function prepareOnPglite(database: PGlite, text: string): PreparedStatement {
  let statements = preparedStatements.get(database)
  if (statements === undefined) {
    statements = new Map()
    preparedStatements.set(database, statements)
  }
  const prepared = statements.get(text) ?? { name: `meshca_${statements.size + 1}`, parsed: false }
  statements.set(text, prepared)
  const { name } = prepared
  const { serialize } = protocol

  async function parse(): Promise<void> {
    await database.execProtocol(joinMessages([serialize.parse({ name, text }), serialize.sync()]))
    prepared.parsed = true
  }
  async function execute(params: readonly unknown[]): Promise<Row[]> {
    const bind = serialize.bind({ statement: name, values: params.map(toParameter) })
    const { messages } = await database.execProtocol(
      joinMessages([bind, serialize.execute({}), serialize.sync()])
    )
    const rows: Row[] = []
    for (const message of messages) {
      if (message instanceof protocol.messages.DataRowMessage) rows.push(message.fields)
    }
    return rows
  }
  return {
    async run(params) {
      await database._checkReady()
      return database._runExclusiveTransaction(() =>
        database._runExclusiveQuery(async () => {
          if (!prepared.parsed) await parse()
          try {
            return await execute(params)
          } catch (error) {
            // Someone ran DEALLOCATE or DISCARD on the shared session: prepare it again.
            if ((error as { code?: unknown }).code !== INVALID_STATEMENT_NAME) throw error
            await parse()
            return await execute(params)
          }
        })
      )
    },
  }
}

const INVALID_STATEMENT_NAME = '26000'

/** Parameters go as text, as PostgreSQL reads them; the store passes strings and numbers only. */
function toParameter(value: unknown): string | null {
  if (value === null || value === undefined) return null
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'bigint') return String(value)
  throw new TypeError(`unsupported statement parameter of type ${typeof value}`)
}

function joinMessages(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0
  for (const part of parts) length += part.length
  const joined = new Uint8Array(length)
  let offset = 0
  for (const part of parts) {
    joined.set(part, offset)
    offset += part.length
  }
  return joined
}
