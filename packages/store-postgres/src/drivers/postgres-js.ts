/**
 * The PostgreSQL server driver, over postgres.js. Three kinds of connections, each for one reason:
 * the query pool, which also applies the migrations (in one transaction, on one connection it
 * reserves: `migrate.ts`); one LISTEN connection per store, managed here rather than with
 * `sql.listen`, which silently drops its listeners when re-subscribing fails while the server is
 * down; and one lock connection per leader election.
 */
import { clearTimeout, setTimeout } from 'node:timers'
import type { Logger } from '@meshca/core-mtls'
import { type MeshcaError, silentLogger } from '@meshca/core-mtls'
import { drizzle } from 'drizzle-orm/postgres-js'
import postgres from 'postgres'
import type {
  ListenHandle,
  ListenHandlers,
  LockSession,
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

/**
 * How long a write on the LISTEN connection waits for a row lock before it is handed to the pool.
 * A session receives notifications only between statements: a write that waits there holds back
 * every change event of this instance, other instances' included.
 */
const LISTEN_LOCK_TIMEOUT_MS = 100
const LOCK_NOT_AVAILABLE = '55P03'

type Client = postgres.Sql
type ClientOptions = postgres.Options<Record<never, never>>

export async function createPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const schema = checkSchemaName(options.schema ?? DEFAULT_SCHEMA)
  const readCacheBytes = wholeNumberOption(
    options.readCacheBytes,
    DEFAULT_READ_CACHE_BYTES,
    'readCacheBytes'
  )
  const readCacheMaxAgeMs = wholeNumberOption(options.readCacheMaxAgeMs, 0, 'readCacheMaxAgeMs')
  const logger = options.logger ?? silentLogger
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
  const connect = (suffix: string, extra: ClientOptions = {}): Client =>
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

  const listenCheckMs = options.listenCheckIntervalMs ?? 30_000
  // postgres.js prepares a statement on each connection the first time it runs there.
  const runOn = (client: Client, text: string, params: readonly unknown[]) =>
    client.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: true }).values()
  let listener: ServerListener | undefined
  const driver: StoreDriver = {
    kind: 'postgres',
    db: asDatabase(drizzle(pool)),
    prepare: (text, prepareOptions) =>
      prepareOptions?.notifies === true
        ? {
            // On the store's LISTEN connection when it is free: PostgreSQL then does not wake
            // another backend for the notification (it reads the queue itself, before answering),
            // which saved 15-25% of a raw single-row update here. Otherwise through the pool, and
            // there again when a row lock made it give up (`LISTEN_LOCK_TIMEOUT_MS`: rolled back).
            run: (params) => {
              const routed = listener?.runIfIdle((client) => runOn(client, text, params))
              if (routed === undefined) return runOn(pool, text, params)
              return routed.catch((error: unknown) => {
                if (driverCondition(error) === LOCK_NOT_AVAILABLE) return runOn(pool, text, params)
                throw error
              })
            },
          }
        : { run: (params) => runOn(pool, text, params) },
    // A write through the pool is announced on another connection, possibly after it returned.
    notifiesBeforeWriteReturns: false,
    // Other instances listen too.
    deliversInProcess: false,
    async listen(channel, handlers) {
      const started = await startListening({ channel, handlers, logger, listenCheckMs, connect })
      listener = started
      return {
        close() {
          if (listener === started) listener = undefined
          return started.close()
        },
      }
    },
    openLockSession: async ({ idleTimeoutMs }) =>
      openServerLockSession(connect('leader', { max: 1 }), idleTimeoutMs),
    close: () => pool.end({ timeout: 2 }),
  }
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

/** drizzle's PostgresJsDatabase, seen through the driver-neutral type the store is written against. */
function asDatabase(db: ReturnType<typeof drizzle>): SqlDatabase {
  return db as unknown as SqlDatabase
}

function toOpenError(error: unknown): MeshcaError {
  return toStoreError(error, 'open the store')
}

interface ListenSetup {
  readonly channel: string
  readonly handlers: ListenHandlers
  readonly logger: Logger
  readonly listenCheckMs: number
  readonly connect: (suffix: string, extra?: ClientOptions) => Client
}

interface ServerListener extends ListenHandle {
  /**
   * Runs `work` on the LISTEN connection if it is subscribed and runs no other write, else returns
   * `undefined`. One write at a time: a second one queued behind it would wait for the first's
   * commit, where a pool connection commits alongside.
   */
  runIfIdle<T>(work: (client: Client) => Promise<T>): Promise<T> | undefined
}

/**
 * One connection that LISTENs. When it closes, or a periodic check does not answer, a new one is
 * made (with backoff, for as long as the store is open) and the store is told to replay. It also
 * carries the store's writes while it is free (`runIfIdle`), so it is a writer session like the
 * pool's.
 */
async function startListening(setup: ListenSetup): Promise<ServerListener> {
  const { channel, handlers, logger } = setup
  let client: Client | undefined
  /** The write running on the LISTEN connection, if any, settled or failed. */
  let writing: { readonly on: Client; readonly settled: Promise<void> } | undefined
  const retiring = new Set<Client>()
  const checkTimeoutMs = Math.min(10_000, setup.listenCheckMs)
  let generation = 0
  let stopped = false
  let checkTimer: ReturnType<typeof setTimeout> | undefined
  let reconnecting: Promise<void> | undefined

  function open(): Client {
    const mine = ++generation
    // `onnotify` is missing from postgres.js's types, not from its options.
    const listenOptions: ClientOptions & {
      readonly onnotify: (channel: string, payload: string) => void
    } = {
      max: 1,
      idle_timeout: 0,
      max_lifetime: null,
      connection: { lock_timeout: LISTEN_LOCK_TIMEOUT_MS },
      onnotify: (notified, payload) => {
        if (mine === generation && notified === channel) handlers.onPayload(payload)
      },
      onclose: () => {
        if (mine === generation && !stopped) connectionLost('closed')
      },
    }
    return setup.connect('listen', listenOptions)
  }

  async function subscribe(target: Client): Promise<void> {
    await target.unsafe(`LISTEN "${channel.replaceAll('"', '""')}"`)
  }

  function connectionLost(why: string): void {
    if (reconnecting !== undefined || stopped) return
    handlers.onLost()
    logger.log('warn', 'store listen connection lost; reconnecting', { why })
    const old = client
    client = undefined
    generation += 1
    if (old !== undefined) retire(old)
    reconnecting = reconnect().finally(() => {
      reconnecting = undefined
    })
  }

  async function reconnect(): Promise<void> {
    for (let attempt = 0; !stopped; attempt++) {
      const candidate = open()
      try {
        await subscribe(candidate)
        if (stopped) {
          await candidate.end({ timeout: 0 })
          return
        }
        client = candidate
        handlers.onResumed()
        scheduleCheck()
        return
      } catch {
        generation += 1
        await candidate.end({ timeout: 0 }).catch(() => {})
        await sleep(Math.min(5000, 100 * 2 ** attempt))
      }
    }
  }

  /**
   * Closes a connection that no longer listens. A write running on it gets as long again as the
   * check waited before it is cancelled (and fails as STORE_UNAVAILABLE): a slow server may still
   * answer it, while a connection that died without a word would hold it for the many minutes TCP
   * takes to give up.
   */
  function retire(old: Client): void {
    let deadline: ReturnType<typeof setTimeout> | undefined
    const finish = () => {
      if (deadline !== undefined) clearTimeout(deadline)
      if (retiring.delete(old)) void old.end({ timeout: 0 }).catch(() => {})
    }
    retiring.add(old)
    const running = writing?.on === old ? writing.settled : undefined
    if (running === undefined) {
      finish()
      return
    }
    deadline = setTimeout(finish, checkTimeoutMs)
    deadline.unref()
    void running.then(finish)
  }

  function scheduleCheck(): void {
    if (checkTimer !== undefined) clearTimeout(checkTimer)
    checkTimer = setTimeout(check, setup.listenCheckMs)
    checkTimer.unref()
  }

  /** A connection can die without a FIN (a cable, a NAT timeout): only asking tells. */
  async function check(): Promise<void> {
    const target = client
    if (stopped || target === undefined) return
    const answered = await Promise.race([
      target`select 1`.then(
        () => true,
        () => false
      ),
      sleep(checkTimeoutMs).then(() => false),
    ])
    if (stopped || target !== client) return
    if (answered) scheduleCheck()
    else connectionLost('no answer to the periodic check')
  }

  const first = open()
  try {
    await subscribe(first)
  } catch (error) {
    generation += 1
    await first.end({ timeout: 0 }).catch(() => {})
    throw error
  }
  client = first
  scheduleCheck()

  return {
    runIfIdle(work) {
      const on = client
      if (on === undefined || writing?.on === on) return undefined
      const pending = work(on)
      const current = {
        on,
        settled: pending.then(
          () => {},
          () => {}
        ),
      }
      writing = current
      void current.settled.then(() => {
        if (writing === current) writing = undefined
      })
      return pending
    },
    async close() {
      stopped = true
      generation += 1
      if (checkTimer !== undefined) clearTimeout(checkTimer)
      const last = client
      client = undefined
      // A write still running on a retired connection gets the same second as the others.
      const closing = [last, ...retiring]
      retiring.clear()
      await Promise.all(closing.map((target) => target?.end({ timeout: 1 }).catch(() => {})))
      await reconnecting?.catch(() => {})
    },
  }
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}
