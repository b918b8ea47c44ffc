/**
 * The embedded driver: PGlite, PostgreSQL compiled to WebAssembly, running in this process over a
 * local data directory (or in memory). The same schema, migrations and queries as on a server;
 * what differs is what "one process" makes simpler: the single session sees its own notifications,
 * so change events work as on a server; the store's own writes need no NOTIFY at all, since every
 * listener is here (`deliver`); and leader election is among this process's contenders.
 */
import type { QueryOptions, Transaction } from '@electric-sql/pglite'
import { PGlite, protocol } from '@electric-sql/pglite'
import { silentLogger } from '@meshca/core-mtls'
import { drizzle } from 'drizzle-orm/pglite'
import type {
  LockSession,
  PreparedStatement,
  PrepareOptions,
  Row,
  SqlDatabase,
  StoreDriver,
} from '../driver.ts'
import { DEFAULT_MAX_SPEC_BYTES } from '../input-checks.ts'
import { applyMigrations } from '../migrate.ts'
import { CHANGE_LOG_SETTING, checkSchemaName, DEFAULT_SCHEMA, WRITER_SETTING } from '../names.ts'
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
    const driver: StoreDriver = {
      kind: 'pglite',
      db,
      // PGlite queues the callbacks of a commit's notifications while it runs the commit, ahead of
      // the writer's continuation and of the next query; `deliver` does the same.
      notifiesBeforeWriteReturns: true,
      deliversInProcess: true,
      uncommittedRuns: () => uncommittedRuns.get(database) ?? 0,
      prepare: (text, prepareOptions) => prepareOnPglite(database, text, prepareOptions ?? {}),
      async listen(channel, handlers) {
        // Writes by SQL arrive as notifications, the store's own writes from `prepareOnPglite`.
        const unlisten = await database.listen(`"${channel}"`, handlers.onPayload)
        const stopDelivery = addInProcessListener(database, channel, handlers.onPayload)
        return {
          close: async () => {
            stopDelivery()
            await unlisten()
          },
        }
      },
      openLockSession: async () => openProcessLockSession(database),
      close: async () => {
        try {
          if (owned) await database.close()
        } finally {
          await releaseLock()
        }
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
    await releaseLock()
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

/** `StoreDriver.uncommittedRuns` of each embedded database. */
const uncommittedRuns = new WeakMap<PGlite, number>()

/** This process's listeners of each embedded database, by channel: all of its listeners. */
const inProcessListeners = new WeakMap<PGlite, Map<string, Set<(payload: string) => void>>>()

function addInProcessListener(
  database: PGlite,
  channel: string,
  listener: (payload: string) => void
): () => void {
  let channels = inProcessListeners.get(database)
  if (channels === undefined) {
    channels = new Map()
    inProcessListeners.set(database, channels)
  }
  const listeners = channels.get(channel) ?? new Set()
  channels.set(channel, listeners)
  // A wrapper of its own, so that a listener added twice is removed once per close.
  const entry = (payload: string) => listener(payload)
  listeners.add(entry)
  return () => {
    listeners.delete(entry)
  }
}

/** Ends what a write set for its transaction (`WRITER_SETTING`, `newSpec` in announced-writes.ts). */
const CLEAR_WRITER = `select set_config('${WRITER_SETTING}', '', true)`

/**
 * PGlite's `query()` sends parse, describe, bind, describe, execute and sync, each its own call into
 * PostgreSQL, and plans the statement every time. A named statement is parsed once; each run is one
 * call with bind, execute and sync (and, for a write in someone's transaction, what `run` adds).
 * Runs wait for PGlite's locks as `query()` does, so they never land inside a transaction of
 * PGlite's API; one may land inside a transaction that someone opened with a BEGIN of their own on
 * the shared session (see `run`).
 */
function prepareOnPglite(
  database: PGlite,
  text: string,
  options: PrepareOptions
): PreparedStatement {
  let statements = preparedStatements.get(database)
  if (statements === undefined) {
    statements = new Map()
    preparedStatements.set(database, statements)
  }
  const known = statements
  const { serialize } = protocol
  const execute = serialize.execute({})
  const sync = serialize.sync()
  /** One statement of the session, parsed on first use, and again after someone's DISCARD. */
  const named = (statementText: string) => {
    const entry = known.get(statementText) ?? { name: `meshca_${known.size + 1}`, parsed: false }
    known.set(statementText, entry)
    return {
      bind: (values: (string | null)[]) => serialize.bind({ statement: entry.name, values }),
      parse(again: boolean, into: Uint8Array[]) {
        if (entry.parsed && !again) return
        // Closing a statement that does not exist is no error.
        if (again) into.push(serialize.close({ type: 'S', name: entry.name }))
        into.push(serialize.parse({ name: entry.name, text: statementText }))
      },
      parsed: () => entry.parsed,
      markParsed: () => {
        entry.parsed = true
      },
    }
  }
  const notifying = named(text)
  const { inProcess } = options
  const reporting = inProcess === undefined ? undefined : named(inProcess.text)
  const clearing = options.notifies === true ? named(CLEAR_WRITER) : undefined

  /** Parse messages for those of `used` not parsed yet; `again`: closes and parses them all. */
  function parses(used: readonly (typeof notifying)[], again: boolean): Uint8Array[] {
    const messages: Uint8Array[] = []
    for (const statement of used) statement.parse(again, messages)
    return messages
  }
  async function run(params: readonly unknown[], again: boolean): Promise<Row[]> {
    const values = params.map(toParameter)
    // Inside someone's open transaction the write is theirs until they commit or roll back: it
    // notifies, and PostgreSQL delivers that at their commit only. It also clears the setting it
    // made for its transaction, which their later writes would otherwise inherit and skip the
    // triggers with. Outside one, the transaction ends with the write, and a reporting write hands
    // its payload to this process's listeners, who are all of them.
    const inTransaction = database.isInTransaction()
    const statement = reporting !== undefined && !inTransaction ? reporting : notifying
    const clear = inTransaction ? clearing : undefined
    const used = clear === undefined ? [statement] : [statement, clear]
    const messages: Uint8Array[] = []
    if (inTransaction) {
      // A statement someone deallocated would fail, and fail their transaction with it: there,
      // every run closes and parses what it uses, in the same call.
      uncommittedRuns.set(database, (uncommittedRuns.get(database) ?? 0) + 1)
      messages.push(...parses(used, true))
    } else if (again || used.some((entry) => !entry.parsed())) {
      await database.execProtocol(joinMessages([...parses(used, again), sync]))
    }
    for (const entry of used) entry.markParsed()
    messages.push(statement.bind(values), execute)
    if (clear !== undefined) messages.push(clear.bind([]), execute)
    messages.push(sync)
    const reports = statement === reporting && inProcess !== undefined
    // A reporting write is committed once PostgreSQL answered: its listeners hear of it before the
    // data directory is written, as they do of a notification, whether or not that write fails.
    const { messages: answers } = await database.execProtocol(joinMessages(messages), {
      syncToFs: !reports,
    })
    const rows: Row[] = []
    for (const message of answers) {
      // The write's rows come first; the clearing statement's row is not one of them.
      if (message instanceof protocol.messages.CommandCompleteMessage) break
      if (message instanceof protocol.messages.DataRowMessage) rows.push(message.fields)
    }
    if (reports) {
      deliver(inProcess.channel, rows)
      await database.syncToFs()
    }
    return rows
  }
  /** As PGlite delivers a notification: one microtask per listener, before the write returns. */
  function deliver(channel: string, rows: readonly Row[]): void {
    const listeners = inProcessListeners.get(database)?.get(channel)
    if (listeners === undefined) return
    for (const row of rows) {
      const payload = row[row.length - 1]
      if (typeof payload !== 'string') continue
      for (const listener of listeners) queueMicrotask(() => listener(payload))
    }
  }
  return {
    async run(params) {
      await database._checkReady()
      return database._runExclusiveTransaction(() =>
        database._runExclusiveQuery(async () => {
          try {
            return await run(params, false)
          } catch (error) {
            // Someone ran DEALLOCATE or DISCARD on the shared session: prepare it again.
            if ((error as { code?: unknown }).code !== INVALID_STATEMENT_NAME) throw error
            return await run(params, true)
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
