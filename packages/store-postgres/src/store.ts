/**
 * The Store port over PostgreSQL, whatever the driver: every query is built with drizzle against
 * the schema's tables (`store-statements.ts` and the modules it uses), and the drivers only
 * connect, listen and lock (docs/kuma-compatibility.md §10.2, with meshca's differences: one
 * version sequence for the whole schema, list filtering and paging in SQL with cursor offsets,
 * change events notified and, for deletions, kept as tombstones).
 */
import type {
  InstanceRegistry,
  JsonObject,
  ListOptions,
  ListPage,
  Logger,
  ResourceKey,
  ResourceType,
  Store,
  StoredResource,
  StoreEvent,
  Unsubscribe,
  WatchOptions,
} from '@meshca/core-mtls'
import { MeshcaError } from '@meshca/core-mtls'
import { encodeCursor } from './cursor.ts'
import type { StoreDriver } from './driver.ts'
import {
  canonicalVersion,
  checkKey,
  checkListOptions,
  describeKey,
  serializeSpec,
} from './input-checks.ts'
import { sqlInstanceRegistry } from './instance-registry.ts'
import type { LeaderElection, LeaderElectionOptions } from './leader-election.ts'
import { startLeaderElection } from './leader-election.ts'
import { changeChannel, LOCK_NAMESPACE, leaderLockKey } from './names.ts'
import { ReadCache } from './read-cache.ts'
import { keyPlaceholders } from './resource-rows.ts'
import { defineStoreTables } from './schema.ts'
import { runAs, storeClosedError } from './sql-errors.ts'
import { StoreChanges } from './store-changes.ts'
import { StoreStatements } from './store-statements.ts'
import { parseSpec, readerResource, toResource } from './stored-resource.ts'

/** A Store on PostgreSQL or PGlite, with what only a database-backed store can offer. */
export interface PostgresStore extends Store {
  readonly driver: 'postgres' | 'pglite'
  /** The PostgreSQL schema holding this store's tables. */
  readonly schema: string
  /**
   * Competes for leadership of `name` (e.g. "rotation-daemon") with every instance on the same
   * database and schema. Stopped when the store closes.
   */
  leaderElection(name: string, options?: LeaderElectionOptions): LeaderElection
  /** Liveness of the control plane instances on this database, by the database's clock. */
  readonly instances: InstanceRegistry
}

export interface SqlStoreSettings {
  readonly schema: string
  readonly logger: Logger
  readonly maxSpecBytes: number
  readonly readCacheBytes: number
  /**
   * How long a cached row may be answered. 0: for as long as nothing changes it, which only a
   * driver that `notifiesBeforeWriteReturns` allows; elsewhere 0 turns the cache off
   * (`row-cache.ts`).
   */
  readonly readCacheMaxAgeMs: number
  readonly eventRetentionMs: number
  readonly pruneIntervalMs: number
  /**
   * Settles when the schema is ready (the migrations, started by the driver). The LISTEN
   * connection opens meanwhile: it needs no table, and the change sequence is read only after.
   */
  readonly migrated?: Promise<unknown>
}

export async function openSqlStore(
  driver: StoreDriver,
  settings: SqlStoreSettings
): Promise<PostgresStore> {
  const tables = defineStoreTables(settings.schema)
  const statements = new StoreStatements(driver, tables.resources, changeChannel(settings.schema))
  const reads = new ReadCache(driver, statements.get, settings)
  const changes = await StoreChanges.open(driver, tables, settings, reads)
  return plainStore(new SqlStore(driver, settings, { tables, statements, reads, changes }))
}

/**
 * The store as a plain object of its own members, as it always was: a caller may spread it to wrap
 * some of its methods, or hand one on without binding it.
 */
function plainStore(store: SqlStore): PostgresStore {
  return {
    driver: store.driver,
    schema: store.schema,
    instances: store.instances,
    get: (key) => store.get(key),
    list: (type, options) => store.list(type, options),
    create: (key, spec) => store.create(key, spec),
    update: (key, spec, expectedVersion) => store.update(key, spec, expectedVersion),
    delete: (key, expectedVersion) => store.delete(key, expectedVersion),
    watch: (listener, options) => store.watch(listener, options),
    leaderElection: (name, options) => store.leaderElection(name, options),
    close: () => store.close(),
  }
}

interface StoreParts {
  readonly tables: ReturnType<typeof defineStoreTables>
  readonly statements: StoreStatements
  readonly reads: ReadCache
  readonly changes: StoreChanges
}

class SqlStore implements PostgresStore {
  readonly driver: 'postgres' | 'pglite'
  readonly schema: string
  readonly instances: InstanceRegistry
  readonly #driver: StoreDriver
  readonly #logger: Logger
  readonly #maxSpecBytes: number
  readonly #statements: StoreStatements
  readonly #reads: ReadCache
  readonly #changes: StoreChanges
  readonly #electors = new Set<LeaderElection>()
  #closed = false
  #closing: Promise<void> | undefined

  constructor(driver: StoreDriver, settings: SqlStoreSettings, parts: StoreParts) {
    this.driver = driver.kind
    this.schema = settings.schema
    this.instances = sqlInstanceRegistry(driver.db, parts.tables.instances, () =>
      this.#ensureOpen()
    )
    this.#driver = driver
    this.#logger = settings.logger
    this.#maxSpecBytes = settings.maxSpecBytes
    this.#statements = parts.statements
    this.#reads = parts.reads
    this.#changes = parts.changes
  }

  async get(key: ResourceKey): Promise<StoredResource | undefined> {
    this.#ensureOpen()
    checkKey(key)
    const exact = { type: key.type, mesh: key.mesh, name: key.name }
    const row = await this.#reads.read(exact)
    return row === undefined ? undefined : readerResource(exact, row)
  }

  async list(type: ResourceType, listOptions: ListOptions = {}): Promise<ListPage> {
    this.#ensureOpen()
    const page = checkListOptions(type, listOptions)
    const shape = {
      mesh: listOptions.mesh !== undefined,
      nameContains: listOptions.nameContains !== undefined,
      after: page.after !== undefined,
    }
    // Through `runAs` too: building a shape's statement the first time may throw.
    const rows = await runAs('list', () =>
      this.#statements.list.of(shape).execute('list', {
        type,
        mesh: listOptions.mesh ?? '',
        nameContains: listOptions.nameContains ?? '',
        afterMesh: page.after?.mesh ?? '',
        afterName: page.after?.name ?? '',
        limit: page.size + 1,
      })
    )
    const total = rows[0]?.total ?? 0
    const items: StoredResource[] = []
    for (const { item } of rows) {
      if (item === undefined || items.length === page.size) continue
      const key = { type, mesh: item.mesh, name: item.name }
      items.push(toResource(key, item, parseSpec(key, item.spec)))
    }
    const last = items.at(-1)
    const result: ListPage = { items, total }
    return rows.length > page.size && last !== undefined
      ? { ...result, next: encodeCursor(last) }
      : result
  }

  async create(key: ResourceKey, spec: JsonObject): Promise<StoredResource> {
    this.#ensureOpen()
    checkKey(key)
    const text = serializeSpec(spec, this.#maxSpecBytes)
    try {
      const [row] = await this.#statements.create.execute('create', {
        ...keyPlaceholders(key),
        spec: text,
      })
      if (row === undefined) {
        throw new MeshcaError('ALREADY_EXISTS', `Resource already exists: ${describeKey(key)}`)
      }
      this.#changes.ownWriteCompleted('create', row.version)
      return toResource(key, row, JSON.parse(text) as JsonObject)
    } finally {
      this.#reads.forgetWritten(key)
    }
  }

  async update(
    key: ResourceKey,
    spec: JsonObject,
    expectedVersion: string
  ): Promise<StoredResource> {
    this.#ensureOpen()
    checkKey(key)
    const text = serializeSpec(spec, this.#maxSpecBytes)
    try {
      const version = canonicalVersion(expectedVersion)
      if (version === undefined) throw await this.#missingOrConflict(key, 'update')
      const [row] = await this.#statements.update.execute('update', {
        ...keyPlaceholders(key),
        spec: text,
        version,
      })
      if (row === undefined) throw await this.#missingOrConflict(key, 'update')
      this.#changes.ownWriteCompleted('update', row.version)
      return toResource(key, row, JSON.parse(text) as JsonObject)
    } finally {
      this.#reads.forgetWritten(key)
    }
  }

  async delete(key: ResourceKey, expectedVersion?: string): Promise<void> {
    this.#ensureOpen()
    checkKey(key)
    try {
      const row = await this.#deleteRow(key, expectedVersion)
      if (row === undefined) throw await this.#missingOrConflict(key, 'delete')
      this.#changes.ownWriteCompleted('delete', row.version)
    } finally {
      this.#reads.forgetWritten(key)
    }
  }

  watch(listener: (event: StoreEvent) => void, watchOptions?: WatchOptions): Unsubscribe {
    this.#ensureOpen()
    return this.#changes.subscribe(listener, watchOptions)
  }

  leaderElection(name: string, options?: LeaderElectionOptions): LeaderElection {
    this.#ensureOpen()
    const election = startLeaderElection(
      {
        name,
        namespace: LOCK_NAMESPACE,
        key: leaderLockKey(this.schema, name),
        openSession: (sessionSettings) => this.#driver.openLockSession(sessionSettings),
        logger: this.#logger,
      },
      options
    )
    const electors = this.#electors
    electors.add(election)
    return {
      ...election,
      async stop() {
        electors.delete(election)
        await election.stop()
      },
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.#closed = true
    this.#changes.stop()
    this.#reads.clear()
    await Promise.all([...this.#electors].map((election) => election.stop()))
    this.#electors.clear()
    await this.#changes.close()
    await this.#driver.close()
  }

  #ensureOpen(): void {
    if (this.#closed) throw storeClosedError()
  }

  /** The deleted row's version; `undefined` when no row matched. */
  async #deleteRow(
    key: ResourceKey,
    expectedVersion: string | undefined
  ): Promise<{ readonly version: string } | undefined> {
    if (expectedVersion === undefined) {
      return (await this.#statements.delete.execute('delete', keyPlaceholders(key)))[0]
    }
    const version = canonicalVersion(expectedVersion)
    if (version === undefined) throw await this.#missingOrConflict(key, 'delete')
    const rows = await this.#statements.deleteVersion.execute('delete', {
      ...keyPlaceholders(key),
      version,
    })
    return rows[0]
  }

  /** After a write matched no row: tells apart a missing resource from a stale version. */
  async #missingOrConflict(key: ResourceKey, action: string): Promise<MeshcaError> {
    const rows = await this.#statements.get.execute(action, keyPlaceholders(key))
    return rows.length === 0
      ? new MeshcaError('NOT_FOUND', `Resource not found: ${describeKey(key)}`)
      : new MeshcaError('CONFLICT', `Resource conflict: ${describeKey(key)}`)
  }
}
