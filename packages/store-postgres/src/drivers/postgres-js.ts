/**
 * The PostgreSQL server driver, over postgres.js. Three kinds of connections, each for one reason:
 * the query pool, which also applies the migrations (in one transaction, on one connection it
 * reserves: `migrate.ts`); one LISTEN connection per store, managed in `listen-connection.ts`
 * rather than with `sql.listen`, which silently drops its listeners when re-subscribing fails
 * while the server is down; and one lock connection per leader election.
 */
import type { Logger } from '@meshca/core-mtls'
import { type MeshcaError, silentLogger } from '@meshca/core-mtls'
import { drizzle } from 'drizzle-orm/postgres-js'
import postgres from 'postgres'
import type {
  ListenHandle,
  ListenHandlers,
  LockSession,
  PreparedStatement,
  PrepareOptions,
  Row,
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
import { driverCondition, toStoreError } from '../sql-errors.ts'
import type { PostgresStore } from '../store.ts'
import { openSqlStore } from '../store.ts'
import type { Client, ClientOptions, ServerListener } from './listen-connection.ts'
import { startListening } from './listen-connection.ts'
import { postgresTarget } from './postgres-url.ts'

export interface PostgresStoreOptions extends CommonStoreOptions {
  /**
   * `postgres://user:password@host:port/database`; `postgresql://` works too, and so does a Unix
   * socket directory and the other parameters as libpq reads them
   * (`postgres://user@/database?host=/var/run/postgresql&port=5433`).
   */
  readonly url: string
  /** Connections in the query pool; default 10. */
  readonly poolSize?: number
  /** Seconds to wait for a connection before failing with STORE_UNAVAILABLE; default 10. */
  readonly connectTimeoutSeconds?: number
  /** Shown in `pg_stat_activity`, with a suffix per kind of connection; default "meshca". */
  readonly applicationName?: string
  /** How often the LISTEN connection is checked, to notice a silently dead one; default 30 s. */
  readonly listenCheckIntervalMs?: number
  /**
   * Keeps rows read by key in memory (`readCacheBytes` of them) for at most this long; default 0,
   * no cache: every read queries the server. With a cache, this instance reads its own writes at
   * once (a write drops its row when it returns), and a write through another instance or SQL sent
   * to the server shows once its notification arrives (usually within a millisecond), never later
   * than this. Once the listen connection is known to be down the cache is not used; one that dies
   * without a word is found by the listen check (`listenCheckIntervalMs`), and until then this
   * maximum age is the bound. Writes that bypass the triggers are not announced: they show after
   * this long.
   */
  readonly readCacheMaxAgeMs?: number
}

/** A write on the LISTEN connection gave up waiting for a row lock (`LISTEN_LOCK_TIMEOUT_MS`). */
const LOCK_NOT_AVAILABLE = '55P03'

export async function createPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const schema = checkSchemaName(options.schema ?? DEFAULT_SCHEMA)
  const readCacheBytes = wholeNumberOption(
    options.readCacheBytes,
    DEFAULT_READ_CACHE_BYTES,
    'readCacheBytes'
  )
  const readCacheMaxAgeMs = wholeNumberOption(options.readCacheMaxAgeMs, 0, 'readCacheMaxAgeMs')
  const logger = options.logger ?? silentLogger
  const connect = connector(options)
  const pool = connect('store', { max: options.poolSize ?? 10 })
  // Awaited by openSqlStore after it opened the LISTEN connection, which saves a connection's setup
  // (about 15 ms here) on every start; a failure is reported there.
  const migrated = applyMigrations(asDatabase(drizzle(pool)), {
    schema,
    logger,
    ...(options.migrationsFolder === undefined
      ? {}
      : { migrationsFolder: options.migrationsFolder }),
  })
  migrated.catch(() => {})
  const driver = new ServerDriver(pool, connect, logger, options.listenCheckIntervalMs ?? 30_000)
  try {
    return await openSqlStore(driver, {
      schema,
      logger,
      maxSpecBytes: options.maxSpecBytes ?? DEFAULT_MAX_SPEC_BYTES,
      readCacheBytes,
      readCacheMaxAgeMs,
      eventRetentionMs: options.eventRetentionMs ?? DEFAULT_EVENT_RETENTION_MS,
      pruneIntervalMs: options.pruneIntervalMs ?? DEFAULT_PRUNE_INTERVAL_MS,
      migrated,
    })
  } catch (error) {
    // A LISTEN that failed first leaves the migrations running: they finish or roll back first.
    await migrated.catch(() => {})
    await pool.end({ timeout: 1 }).catch(() => {})
    throw toOpenError(error)
  }
}

/** Makes the store's connections, each kind named after its `suffix` in `pg_stat_activity`. */
function connector(options: PostgresStoreOptions): Connect {
  const target = postgresTarget(options.url)
  const appName = options.applicationName ?? 'meshca'
  const base: ClientOptions = {
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    // postgres.js prints notices to the console by default ("schema already exists, skipping").
    onnotice: () => {},
    // Seconds before the next connection attempt after failed ones. postgres.js grows this to 20 s,
    // and a call waits for it before failing: a store would answer late during an outage and come
    // back late after it. One second at most keeps both prompt.
    backoff: (failures) => Math.min(0.05 * 2 ** failures, 1),
    // The array types postgres.js looks up on every new connection, one more round trip each: the
    // store reads and writes no arrays.
    fetch_types: false,
  }
  return (suffix, extra = {}) =>
    postgres(target.url, {
      ...base,
      ...target.options,
      ...extra,
      connection: {
        application_name: `${appName}-${suffix}`,
        // Whatever a role or database default says: a reconnecting listener replays this log.
        [CHANGE_LOG_SETTING]: 'log',
        ...extra.connection,
      },
    })
}

type Connect = (suffix: string, extra?: ClientOptions) => Client

// postgres.js prepares a statement on each connection the first time it runs there.
function runOn(client: Client, text: string, params: readonly unknown[]): Promise<Row[]> {
  return client
    .unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: true })
    .values()
}

/** The store's driver on a server: a query pool, a LISTEN connection, a connection per lock. */
class ServerDriver implements StoreDriver {
  readonly kind = 'postgres'
  readonly db: SqlDatabase
  // A write through the pool is announced on another connection, possibly after it returned.
  readonly notifiesBeforeWriteReturns = false
  // Other instances listen too.
  readonly deliversInProcess = false
  readonly #pool: Client
  readonly #connect: Connect
  readonly #logger: Logger
  readonly #listenCheckMs: number
  #listener: ServerListener | undefined

  constructor(pool: Client, connect: Connect, logger: Logger, listenCheckMs: number) {
    this.db = asDatabase(drizzle(pool))
    this.#pool = pool
    this.#connect = connect
    this.#logger = logger
    this.#listenCheckMs = listenCheckMs
  }

  prepare(text: string, prepareOptions?: PrepareOptions): PreparedStatement {
    const pool = this.#pool
    if (prepareOptions?.notifies !== true) return { run: (params) => runOn(pool, text, params) }
    return {
      // On the store's LISTEN connection when it is free: PostgreSQL then does not wake
      // another backend for the notification (it reads the queue itself, before answering),
      // which saved 15-25% of a raw single-row update here. Otherwise through the pool, and
      // there again when a row lock made it give up (`LISTEN_LOCK_TIMEOUT_MS`: rolled back).
      run: (params) => {
        const routed = this.#listener?.runIfIdle((client) => runOn(client, text, params))
        if (routed === undefined) return runOn(pool, text, params)
        return routed.catch((error: unknown) => {
          if (driverCondition(error) === LOCK_NOT_AVAILABLE) return runOn(pool, text, params)
          throw error
        })
      },
    }
  }

  async listen(channel: string, handlers: ListenHandlers): Promise<ListenHandle> {
    const started = await startListening({
      channel,
      handlers,
      logger: this.#logger,
      listenCheckMs: this.#listenCheckMs,
      connect: this.#connect,
    })
    this.#listener = started
    return {
      close: () => {
        if (this.#listener === started) this.#listener = undefined
        return started.close()
      },
    }
  }

  async openLockSession({
    idleTimeoutMs,
  }: {
    readonly idleTimeoutMs: number
  }): Promise<LockSession> {
    return openServerLockSession(this.#connect('leader', { max: 1 }), idleTimeoutMs)
  }

  close(): Promise<void> {
    return this.#pool.end({ timeout: 2 })
  }
}

/** drizzle's PostgresJsDatabase, seen through the driver-neutral type the store is written against. */
function asDatabase(db: ReturnType<typeof drizzle>): SqlDatabase {
  return db as unknown as SqlDatabase
}

function toOpenError(error: unknown): MeshcaError {
  return toStoreError(error, 'open the store')
}

function openServerLockSession(client: Client, idleTimeoutMs: number): LockSession {
  let pid: number | undefined
  const idleTimeout = `${Math.round(idleTimeoutMs)}ms`
  return {
    mustWaitLease: true,
    async tryLock(namespace, key) {
      // A session the server cannot reach anymore (a cut cable) is closed by the server after this
      // long without a query, which frees the lock; heartbeats keep a live session busy.
      const [row] = await client<{ locked: boolean; pid: number }[]>`
        select set_config('idle_session_timeout', ${idleTimeout}, false) as timeout,
               pg_try_advisory_lock(${namespace}::int4, ${key}::int4) as locked,
               pg_backend_pid() as pid`
      pid = row?.pid
      return row?.locked === true
    },
    async holds(namespace, key) {
      const [row] = await client<{ held: boolean; pid: number }[]>`
        select exists (
          select 1 from pg_locks
          where locktype = 'advisory' and pid = pg_backend_pid() and granted
            and classid = ${namespace}::int4::oid and objid = ${key}::int4::oid and objsubid = 2
        ) as held, pg_backend_pid() as pid`
      pid = row?.pid
      return row?.held === true
    },
    async unlock(namespace, key) {
      await client`select pg_advisory_unlock(${namespace}::int4, ${key}::int4)`
    },
    backendPid: () => pid,
    async close() {
      pid = undefined
      await client.end({ timeout: 1 })
    },
  }
}
