/**
 * The embedded driver: PGlite, PostgreSQL compiled to WebAssembly, running in this process over a
 * local data directory (or in memory). The same schema, migrations and queries as on a server;
 * what differs is what "one process" makes simpler: the single session sees its own notifications,
 * so change events work as on a server, and leader election is among this process's contenders.
 */
import { PGlite } from '@electric-sql/pglite'
import { MeshcaError, silentLogger } from '@meshca/core-mtls'
import { drizzle } from 'drizzle-orm/pglite'
import type { LockSession, SqlDatabase, StoreDriver } from '../driver.ts'
import { DEFAULT_MAX_SPEC_BYTES } from '../input-checks.ts'
import { applyMigrations } from '../migrate.ts'
import { checkSchemaName, DEFAULT_SCHEMA } from '../names.ts'
import type { CommonStoreOptions } from '../options.ts'
import {
  DEFAULT_EVENT_RETENTION_MS,
  DEFAULT_PRUNE_INTERVAL_MS,
  DEFAULT_READ_CACHE_BYTES,
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
   * Memory for rows read by key, kept until a change notification drops them, in bytes of spec;
   * default 16 MiB, 0 for none. Exact for every write that goes through this PGlite instance (the
   * store's, another store's, SQL sent to it), because PGlite announces a change before the write
   * returns. Writes that bypass the triggers (`session_replication_role = replica`, disabled
   * triggers) are not seen.
   */
  readonly readCacheBytes?: number
}

export async function createPgliteStore(options: PgliteStoreOptions = {}): Promise<PostgresStore> {
  const schema = checkSchemaName(options.schema ?? DEFAULT_SCHEMA)
  const readCacheBytes = options.readCacheBytes ?? DEFAULT_READ_CACHE_BYTES
  if (!Number.isSafeInteger(readCacheBytes) || readCacheBytes < 0) {
    throw new MeshcaError('INVALID', 'readCacheBytes must be a whole number of bytes, 0 or more', {
      path: 'readCacheBytes',
    })
  }
  const logger = options.logger ?? silentLogger
  const owned = options.pglite === undefined
  let pglite: PGlite
  try {
    pglite = options.pglite ?? (await PGlite.create(options.dataDir))
  } catch (error) {
    throw toStoreError(error, 'open the embedded database')
  }
  const db = drizzle(pglite) as unknown as SqlDatabase
  try {
    await applyMigrations(db, {
      schema,
      logger,
      ...(options.migrationsFolder === undefined
        ? {}
        : { migrationsFolder: options.migrationsFolder }),
    })
    const database = pglite
    const driver: StoreDriver = {
      kind: 'pglite',
      db,
      // PGlite queues the callbacks of a commit's notifications while it runs the commit, ahead of
      // the writer's continuation and of the next query.
      notifiesBeforeWriteReturns: true,
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
