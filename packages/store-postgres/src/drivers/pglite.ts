/**
 * The embedded driver: PGlite, PostgreSQL compiled to WebAssembly, running in this process over a
 * local data directory (or in memory). The same schema, migrations and queries as on a server;
 * what differs is what "one process" makes simpler: the single session sees its own notifications,
 * so change events work as on a server; the store's own writes need no NOTIFY at all, since every
 * listener is here (`deliver`, in `pglite-statements.ts`); and leader election is among this
 * process's contenders.
 */
import type { QueryOptions, Transaction } from '@electric-sql/pglite'
import { PGlite } from '@electric-sql/pglite'
import { silentLogger } from '@meshca/core-mtls'
import { drizzle } from 'drizzle-orm/pglite'
import type {
  ListenHandle,
  ListenHandlers,
  LockSession,
  PreparedStatement,
  PrepareOptions,
  SqlDatabase,
  StoreDriver,
} from '../driver.ts'
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
import { fileSystemDataDir, lockDataDir } from './pglite-data-dir-lock.ts'
import { addInProcessListener, prepareOnPglite, uncommittedRunsOf } from './pglite-statements.ts'

export interface PgliteStoreOptions extends CommonStoreOptions {
  /**
   * The data directory, created on first use; omit (and omit `pglite`) for a database in memory.
   * One process at a time can open it: the store holds the lock file `meshca.lock` in it until
   * closed, and a second opener fails with `STORE_UNAVAILABLE` naming the holder's PID and host
   * (`isDataDirInUse`). A lock whose process no longer runs on this host is taken over.
   */
  readonly dataDir?: string
  /**
   * An open PGlite database to use instead of opening one, so that several stores (or a store and
   * its tests) share it. The store does not close it, nor lock its data directory: whoever opened it
   * keeps other processes out.
   */
  readonly pglite?: PGlite
  /**
   * Memory for rows read by key (`readCacheBytes`, default 16 MiB, 0 for none) is kept until a
   * change notification drops them. Exact for every write that goes through this PGlite instance
   * (the store's, another store's, SQL sent to it), because PGlite, and the driver for the store's
   * own writes, announce a change before the write returns. Writes by SQL that bypass the triggers
   * (`session_replication_role = replica`, disabled triggers) are not seen. Rows read inside a
   * transaction someone opened with a BEGIN of their own are not kept.
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
  // Before PGlite touches the directory: a second process must not even start recovery there.
  const directory = owned ? fileSystemDataDir(options.dataDir) : undefined
  const lock = directory === undefined ? undefined : await lockDataDir(directory)
  const releaseLock = async () => {
    await lock?.release().catch((error: unknown) => {
      logger.log('warn', 'the PGlite data directory lock was not removed', {
        file: lock.file,
        error: String(error),
      })
    })
  }
  let pglite: PGlite
  try {
    pglite = options.pglite ?? (await PGlite.create(options.dataDir))
  } catch (error) {
    await releaseLock()
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
    const driver = new EmbeddedDriver(database, db, async () => {
      try {
        if (owned) await database.close()
      } finally {
        await releaseLock()
      }
    })
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
    await releaseLock()
    throw toStoreError(error, 'open the store')
  }
}

/** The store's driver on an embedded database: one session, and every listener in this process. */
class EmbeddedDriver implements StoreDriver {
  readonly kind = 'pglite'
  readonly db: SqlDatabase
  // PGlite queues the callbacks of a commit's notifications while it runs the commit, ahead of
  // the writer's continuation and of the next query; `deliver` does the same.
  readonly notifiesBeforeWriteReturns = true
  readonly deliversInProcess = true
  readonly #database: PGlite
  readonly #close: () => Promise<void>

  /** `close`: closes what the store owns of the database. */
  constructor(database: PGlite, db: SqlDatabase, close: () => Promise<void>) {
    this.db = db
    this.#database = database
    this.#close = close
  }

  uncommittedRuns(): number {
    return uncommittedRunsOf(this.#database)
  }

  prepare(text: string, prepareOptions?: PrepareOptions): PreparedStatement {
    return prepareOnPglite(this.#database, text, prepareOptions ?? {})
  }

  async listen(channel: string, handlers: ListenHandlers): Promise<ListenHandle> {
    const database = this.#database
    // Writes by SQL arrive as notifications, the store's own writes from `prepareOnPglite`.
    const unlisten = await database.listen(`"${channel}"`, handlers.onPayload)
    const stopDelivery = addInProcessListener(database, channel, handlers.onPayload)
    return {
      close: async () => {
        stopDelivery()
        await unlisten()
      },
    }
  }

  async openLockSession(): Promise<LockSession> {
    return openProcessLockSession(this.#database)
  }

  close(): Promise<void> {
    return this.#close()
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
