/**
 * The Store port over PostgreSQL, whatever the driver: every query is built here with drizzle
 * against the schema's tables, and the drivers only connect, listen and lock (spec §10.2, with
 * meshca's differences: one version sequence for the whole schema, list filtering and paging in SQL
 * with cursor offsets, change events notified and, for deletions, kept as tombstones).
 */
import { clearInterval, setImmediate, setInterval } from 'node:timers'
import type {
  InstanceRegistry,
  JsonObject,
  ListPage,
  Logger,
  ResourceKey,
  ResourceType,
  Store,
  StoredResource,
  Unsubscribe,
} from '@meshca/core-mtls'
import { coalesceReads, deepFreeze, MeshcaError, resourceKeyId } from '@meshca/core-mtls'
import { and, eq, fillPlaceholders, gt, is, Param, Placeholder, sql } from 'drizzle-orm'
import type { TypedQueryBuilder } from 'drizzle-orm/query-builders/query-builder'
import type { ChangeRecord, ReplaySource } from './change-feed.ts'
import { ChangeFeed, parseChangePayload } from './change-feed.ts'
import { encodeCursor } from './cursor.ts'
import type { ListenHandle, PrepareOptions, Row, StoreDriver } from './driver.ts'
import { queryRows } from './driver.ts'
import {
  canonicalVersion,
  checkKey,
  checkListOptions,
  describeKey,
  serializeSpec,
} from './input-checks.ts'
import type { LeaderElection, LeaderElectionOptions } from './leader-election.ts'
import { startLeaderElection } from './leader-election.ts'
import { changeChannel, LOCK_NAMESPACE, leaderLockKey, WRITER_SETTING } from './names.ts'
import { NOT_CACHED, RowCache } from './row-cache.ts'
import { defineStoreTables } from './schema.ts'
import { storeClosedError, toStoreError } from './sql-errors.ts'

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
   * How long a cached row may be answered. 0: for as long as nothing changes it, which only a driver
   * that `notifiesBeforeWriteReturns` allows; elsewhere 0 turns the cache off (`row-cache.ts`).
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

interface ValueRow {
  readonly version: string
  readonly creationMs: number
  readonly modificationMs: number
}

interface GetRow extends ValueRow {
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

interface ListRow {
  readonly total: number
  readonly item:
    | (ValueRow & { readonly spec: unknown; readonly mesh: string; readonly name: string })
    | undefined
}

/** The columns of `values` (version, creation and modification time), starting at `at`. */
function valueColumns(row: Row, at: number): ValueRow {
  return {
    version: String(row[at]),
    creationMs: Number(row[at + 1]),
    modificationMs: Number(row[at + 2]),
  }
}

function versionColumn(row: Row): { readonly version: string } {
  return { version: String(row[0]) }
}

/** Whether two drizzle queries' parameters are the same placeholders and values, in order. */
function sameParameters(left: readonly unknown[], right: readonly unknown[]): boolean {
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

export async function openSqlStore(
  driver: StoreDriver,
  settings: SqlStoreSettings
): Promise<PostgresStore> {
  const { db } = driver
  const { schema, logger, maxSpecBytes } = settings
  const { resources: r, events: e, instances: inst } = defineStoreTables(schema)

  /** What a query returns of a row written or read (`ValueRow`), from its table or a CTE's columns. */
  function valuesOf(row: { version: unknown; creationTime: unknown; modificationTime: unknown }) {
    return {
      version: sql<string>`${row.version}::text`,
      // date_part is float8 all the way; extract() computes in numeric, about 10 us more per row
      // read. The columns hold whole milliseconds, so rounding recovers them exactly.
      creationMs: sql<number>`round(date_part('epoch', ${row.creationTime}) * 1000)`,
      modificationMs: sql<number>`round(date_part('epoch', ${row.modificationTime}) * 1000)`,
    }
  }
  const values = valuesOf(r)
  const keyMatches = and(
    eq(r.type, sql.placeholder('type')),
    eq(r.mesh, sql.placeholder('mesh')),
    eq(r.name, sql.placeholder('name'))
  )
  const versionMatches = eq(r.version, sql.placeholder('version'))

  /** Turns a driver failure of `action` into the store's error; one function per action. */
  const failures = new Map<string, (error: unknown) => never>()
  function failedAs(action: string): (error: unknown) => never {
    let failed = failures.get(action)
    if (failed === undefined) {
      failed = (error) => {
        throw toStoreError(error, action)
      }
      failures.set(action, failed)
    }
    return failed
  }

  /**
   * A drizzle-built statement, prepared by the driver, run with named placeholder values; `decode`
   * reads a row's columns in the order the query selects them. Failures come out as the store's
   * errors, named after `action`. Every read goes through here: no closure is made per call.
   */
  function statement<T>(
    query: { toSQL(): { sql: string; params: unknown[] } },
    decode: (row: Row) => T,
    options?: PrepareOptions
  ) {
    const { sql: text, params } = query.toSQL()
    const prepared = driver.prepare(text, options)
    const decodeAll = (rows: readonly Row[]): T[] => rows.map(decode)
    const decodeFirst = (rows: readonly Row[]): T | undefined => {
      const row = rows[0]
      return row === undefined ? undefined : decode(row)
    }
    function start<R>(
      action: string,
      placeholders: Record<string, string | number>,
      decodeRows: (rows: readonly Row[]) => R
    ): Promise<R> {
      try {
        return prepared
          .run(fillPlaceholders(params, placeholders))
          .then(decodeRows, failedAs(action))
      } catch (error) {
        return Promise.reject(toStoreError(error, action))
      }
    }
    return {
      execute: (action: string, placeholders: Record<string, string | number>): Promise<T[]> =>
        start(action, placeholders, decodeAll),
      /** The first row only: a read by key, one step shorter than `execute` (it is the hot path). */
      first: (
        action: string,
        placeholders: Record<string, string | number>
      ): Promise<T | undefined> => start(action, placeholders, decodeFirst),
    }
  }

  const getQuery = statement(
    db
      .select({ ...values, spec: r.spec })
      .from(r)
      .where(keyMatches),
    // valueColumns' fields written out, not spread: a spread object that later gets its `parsedSpec`
    // set costs about 5 us more per read (measured with a driver that answers at once).
    (row): GetRow => ({
      version: String(row[0]),
      creationMs: Number(row[1]),
      modificationMs: Number(row[2]),
      spec: row[3],
      handedOut: false,
      parsedSpec: undefined,
    })
  )
  /**
   * The new spec, from an expression that first tells the triggers that this statement is the
   * store's (`WRITER_SETTING`, migration 0006) until its transaction ends: the server computes a
   * row's values before any trigger sees the row, and the statement stamps and announces the row
   * itself (`announced`). Set per statement, not per session, so that a session the store shares
   * (PGlite's, an embedder's) or a pooler that drops startup parameters changes nothing for other
   * writers; `drivers/pglite.ts` clears it after a write inside someone's open transaction.
   */
  const newSpec = sql`case when set_config(${sql.raw(`'${WRITER_SETTING}'`)}, 'store', true) is not null then ${sql.placeholder('spec')} end`
  const insertRow = db
    .insert(r)
    .values({
      type: sql.placeholder('type'),
      mesh: sql.placeholder('mesh'),
      name: sql.placeholder('name'),
      spec: newSpec,
    })
    .onConflictDoNothing()
  const keyAndVersionMatch = and(keyMatches, versionMatches)
  const written = {
    version: r.version,
    type: r.type,
    mesh: r.mesh,
    name: r.name,
    creationTime: r.creationTime,
    modificationTime: r.modificationTime,
  }
  const channel = changeChannel(schema)
  // A literal, not a parameter, so that both forms of a write below take the same parameters
  // (`checkSchemaName` allows only a plain identifier).
  const channelLiteral = sql.raw(`'${channel}'`)
  /**
   * A create or update that stamps and announces itself, which the triggers skip (`newSpec`): the
   * `values` of the row it wrote, and the notification the trigger would have sent, with the same
   * payload, in the same transaction. A row trigger costs a PL/pgSQL call and an after-trigger event
   * per write: 10-15% of a create or update, on either engine. `reported`: the same write returning
   * that payload as its last column instead of sending it, for a driver that hands it to its
   * listeners itself (`PrepareOptions.inProcess`).
   */
  function announced(
    action: 'create' | 'update',
    write: TypedQueryBuilder<typeof written, unknown>,
    reported = false
  ) {
    const row = db.$with('written').as(write)
    const payload = sql`json_build_object('seq', ${row.version}::text, 'action', ${sql.raw(`'${action}'`)}, 'type', ${row.type}, 'mesh', ${row.mesh}, 'name', ${row.name}, 'version', ${row.version}::text)::text`
    return db
      .with(row)
      .select({
        ...valuesOf(row),
        announcement: reported ? payload : sql`pg_notify(${channelLiteral}, ${payload})`,
      })
      .from(row)
  }
  /** A create or update, prepared in both forms when the driver delivers in process. */
  function writeStatement(
    action: 'create' | 'update',
    write: () => TypedQueryBuilder<typeof written, unknown>
  ) {
    const notifying = announced(action, write())
    let inProcess: PrepareOptions['inProcess']
    if (driver.deliversInProcess) {
      const reporting = announced(action, write(), true).toSQL()
      // Both forms run with the parameters of the first: they must take the same ones.
      if (!sameParameters(reporting.params, notifying.toSQL().params)) {
        throw new Error(`the two forms of ${action} take different parameters`)
      }
      inProcess = { text: reporting.sql, channel }
    }
    return statement(notifying, (row) => valueColumns(row, 0), {
      notifies: true,
      ...(inProcess === undefined ? {} : { inProcess }),
    })
  }
  const createQuery = writeStatement('create', () => insertRow.returning(written))
  const updateQuery = writeStatement('update', () =>
    db
      .update(r)
      .set({
        spec: newSpec,
        // What the BEFORE UPDATE trigger does for every other writer (migration 0002).
        version: sql`default`,
        modificationTime: sql`greatest(now(), ${r.modificationTime} + interval '1 millisecond')`,
      })
      .where(keyAndVersionMatch)
      .returning(written)
  )
  // Deletes notify through the trigger, which also writes the tombstone.
  const announces: PrepareOptions = { notifies: true }
  const deleteQuery = statement(
    db.delete(r).where(keyMatches).returning({ version: values.version }),
    versionColumn,
    announces
  )
  const deleteVersionQuery = statement(
    db.delete(r).where(and(keyMatches, versionMatches)).returning({ version: values.version }),
    versionColumn,
    announces
  )

  /** One statement per combination of filters, each prepared once. */
  function buildListQuery(shape: ListShape) {
    const matching = and(
      eq(r.type, sql.placeholder('type')),
      shape.mesh ? eq(r.mesh, sql.placeholder('mesh')) : undefined,
      // strpos, not LIKE: `_` and `%` in the filter are literal characters.
      shape.nameContains
        ? gt(sql`strpos(${r.name}, ${sql.placeholder('nameContains')})`, 0)
        : undefined
    )
    const pageQuery = db
      .select({
        mesh: sql<string>`${r.mesh}`.as('page_mesh'),
        name: sql<string>`${r.name}`.as('page_name'),
        version: sql<string>`${values.version}`.as('page_version'),
        creationMs: sql<number>`${values.creationMs}`.as('page_creation_ms'),
        modificationMs: sql<number>`${values.modificationMs}`.as('page_modification_ms'),
        spec: sql<string>`${r.spec}`.as('page_spec'),
      })
      .from(r)
      .where(
        and(
          matching,
          shape.after
            ? sql`(${r.mesh}, ${r.name}) > (${sql.placeholder('afterMesh')}, ${sql.placeholder('afterName')})`
            : undefined
        )
      )
      .orderBy(r.mesh, r.name)
      .limit(sql.placeholder('limit'))
      .as('page')
    const countQuery = db
      .select({ total: sql<number>`count(*)::int4`.as('total') })
      .from(r)
      .where(matching)
      .as('counted')
    // One statement, so that the items and the total come from the same snapshot; the left join
    // keeps the total when the page is empty. Columns: total, then a ValueRow's, then mesh and name.
    return statement(
      db
        .select({
          total: countQuery.total,
          version: pageQuery.version,
          creationMs: pageQuery.creationMs,
          modificationMs: pageQuery.modificationMs,
          spec: pageQuery.spec,
          mesh: pageQuery.mesh,
          name: pageQuery.name,
        })
        .from(countQuery)
        .leftJoinLateral(pageQuery, sql`true`)
        .orderBy(pageQuery.mesh, pageQuery.name),
      (row): ListRow => ({
        total: Number(row[0]),
        // No page row (an empty page): the left join's columns are null.
        item:
          typeof row[5] === 'string' && typeof row[6] === 'string'
            ? { mesh: row[5], name: row[6], ...valueColumns(row, 1), spec: row[4] }
            : undefined,
      })
    )
  }
  const listQueries = new Map<string, ReturnType<typeof buildListQuery>>()
  function listQuery(shape: ListShape): ReturnType<typeof buildListQuery> {
    const id = shapeId(shape)
    let query = listQueries.get(id)
    if (query === undefined) {
      query = buildListQuery(shape)
      listQueries.set(id, query)
    }
    return query
  }

  const feed = new ChangeFeed(logger)
  const electors = new Set<LeaderElection>()
  let closed = false
  let closing: Promise<void> | undefined

  function ensureOpen(): void {
    if (closed) throw storeClosedError()
  }

  /** A query drizzle builds and runs itself (the prepared statements map their errors alone). */
  function run<T>(action: string, query: () => Promise<T>): Promise<T> {
    let pending: Promise<T>
    try {
      // drizzle's query builders are thenables that build their SQL in `then`: adopted here, a
      // throw there rejects `pending` instead of escaping.
      pending = Promise.resolve(query())
    } catch (error) {
      return Promise.reject(toStoreError(error, action))
    }
    return pending.catch(failedAs(action))
  }

  function params(key: ResourceKey): Record<string, string> {
    return { type: key.type, mesh: key.mesh, name: key.name }
  }

  /** After a write matched no row: tells apart a missing resource from a stale version. */
  async function missingOrConflict(key: ResourceKey, action: string): Promise<MeshcaError> {
    const rows = await getQuery.execute(action, params(key))
    return rows.length === 0
      ? new MeshcaError('NOT_FOUND', `Resource not found: ${describeKey(key)}`)
      : new MeshcaError('CONFLICT', `Resource conflict: ${describeKey(key)}`)
  }

  const replaySource: ReplaySource = {
    async changesAfter(after) {
      const from = sql`${after.toString()}::int8`
      // A row never updated has its creation time as its modification time (both are the insert's
      // now(); an update moves the modification time forward): its version is its create.
      const rows = await queryRows<EventRow>(
        db,
        sql`select seq::text as seq, action, type, mesh, name, version::text as version from (
          select ${r.version} as seq, case when ${r.modificationTime} = ${r.creationTime} then 'create' else 'update' end as action, ${r.type} as type, ${r.mesh} as mesh, ${r.name} as name, ${r.version} as version from ${r} where ${r.version} > ${from}
          union all
          select ${e.seq}, ${e.action}, ${e.type}, ${e.mesh}, ${e.name}, ${e.version} from ${e} where ${e.action} = 'delete' and ${e.seq} > ${from}
        ) as changes order by changes.seq`
      )
      return rows.flatMap(toChangeRecord)
    },
    currentSeq: () => currentSeq(driver, schema),
  }

  const rowCache = new RowCache<GetRow>(
    driver.notifiesBeforeWriteReturns || settings.readCacheMaxAgeMs > 0
      ? settings.readCacheBytes
      : 0,
    settings.readCacheMaxAgeMs
  )
  const cached = rowCache.maxBytes > 0

  let listening: ListenHandle | undefined
  listening = await driver.listen(channel, {
    onPayload: (payload) => {
      if (cached) {
        const change = parseChangePayload(payload)
        if (change === undefined) rowCache.clear()
        else rowCache.invalidate(resourceKeyId(change))
      }
      feed.receive(payload)
    },
    onLost: () => {
      // Changes made elsewhere go unannounced until LISTEN is back: no cached answers meanwhile.
      rowCache.pause()
      feed.lost()
    },
    onResumed: () => {
      rowCache.resume()
      feed.resume(replaySource, settings.eventRetentionMs).catch((error: unknown) => {
        logger.log('error', 'store change events could not be replayed after a reconnect', {
          error: toStoreError(error, 'replay').message,
        })
      })
    },
  })
  try {
    await settings.migrated
    feed.start(await currentSeq(driver, schema))
  } catch (error) {
    await listening.close().catch(() => {})
    throw toStoreError(error, 'open the store')
  }

  const pruneTimer = setInterval(() => {
    if (closed) return
    const retentionSeconds = settings.eventRetentionMs / 1000
    db.delete(e)
      .where(sql`${e.at} < now() - make_interval(secs => ${retentionSeconds})`)
      .then(
        () => {},
        (error: unknown) =>
          logger.log('warn', 'could not prune old store change events', {
            error: toStoreError(error, 'prune').message,
          })
      )
  }, settings.pruneIntervalMs)
  pruneTimer.unref()

  // A hot resource (the mesh every request of a client reads) costs one query per round trip, not
  // one per caller.
  const readRow = coalesceReads(
    resourceKeyId,
    (key: ResourceKey) => getQuery.first('get', params(key)),
    // PGlite runs a query on this thread, to its end, before the next request is parsed: started
    // after the I/O phase instead, one query serves every read that phase brought. On a server the
    // reads arriving during the query's round trip share the next one already; a deferred start
    // there only adds latency to a lone read.
    driver.kind === 'pglite' ? { startQuery: (start) => setImmediate(start) } : {}
  )

  /**
   * What a read of `row` hands out. The resource and its Dates are each reader's own, since the
   * Store port lets a caller change them (and freezing a Date does not stop `setTime`). So is the
   * spec of the row's first reader, the only one a lone read has: nothing else will ever hold it,
   * and freezing it would cost a third of what parsing does (2-3 us of a 60 us round trip here).
   * Further readers (a coalesced query, a cached row) share one spec, parsed and frozen once.
   */
  function readerResource(key: ResourceKey, row: GetRow): StoredResource {
    if (!row.handedOut) {
      row.handedOut = true
      return toResource(key, row, parseSpec(key, row.spec))
    }
    row.parsedSpec ??= deepFreeze(parseSpec(key, row.spec))
    return toResource(key, row, row.parsedSpec)
  }

  /**
   * After a write of this store, whatever its outcome (a failed one may have committed, a conflict
   * says the cached row is stale): its notification may come later than its answer (PostgreSQL).
   */
  function forgetCachedRow(key: ResourceKey): void {
    // Where notifications land before the write returns (PGlite), they did this already.
    if (cached && !driver.notifiesBeforeWriteReturns) rowCache.invalidate(resourceKeyId(key))
  }

  // A hot resource costs no query at all when it is cached (see `row-cache.ts`).
  async function readCachedRow(key: ResourceKey): Promise<GetRow | undefined> {
    const id = resourceKeyId(key)
    const hit = rowCache.get(id)
    if (hit !== NOT_CACHED) return hit
    const generation = rowCache.generation()
    const uncommitted = driver.uncommittedRuns?.()
    const readAt = performance.now()
    const row = await readRow(key)
    // Read inside a transaction someone else opened: it may never commit, and a rollback says
    // nothing.
    if (driver.uncommittedRuns?.() !== uncommitted) return row
    const specLength = typeof row?.spec === 'string' ? row.spec.length : 0
    rowCache.fill(id, generation, row, CACHED_ROW_OVERHEAD_BYTES + specLength, readAt)
    return row
  }

  const instances: InstanceRegistry = {
    async heartbeat(id) {
      ensureOpen()
      await run('heartbeat', () =>
        db
          .insert(inst)
          .values({ id, heartbeatTime: sql`now()` })
          .onConflictDoUpdate({ target: inst.id, set: { heartbeatTime: sql`now()` } })
      )
    },
    async live(withinMs) {
      ensureOpen()
      const rows = await run('live instances', () =>
        db
          .select({ id: inst.id })
          .from(inst)
          .where(
            gt(inst.heartbeatTime, sql`now() - ${Math.max(0, withinMs)}::float8 * interval '1 ms'`)
          )
      )
      return new Set(rows.map((row) => row.id))
    },
    async remove(id) {
      ensureOpen()
      await run('remove instance', () => db.delete(inst).where(eq(inst.id, id)))
    },
  }

  const store: PostgresStore = {
    driver: driver.kind,
    schema,
    instances,

    async get(key) {
      ensureOpen()
      checkKey(key)
      const exact = { type: key.type, mesh: key.mesh, name: key.name }
      const row = cached ? await readCachedRow(exact) : await readRow(exact)
      return row === undefined ? undefined : readerResource(exact, row)
    },

    async list(type, listOptions = {}) {
      ensureOpen()
      const page = checkListOptions(type, listOptions)
      const shape = {
        mesh: listOptions.mesh !== undefined,
        nameContains: listOptions.nameContains !== undefined,
        after: page.after !== undefined,
      }
      // Through `run` too: building a shape's statement the first time may throw.
      const rows = await run('list', () =>
        listQuery(shape).execute('list', {
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
    },

    async create(key, spec) {
      ensureOpen()
      checkKey(key)
      const text = serializeSpec(spec, maxSpecBytes)
      try {
        const [row] = await createQuery.execute('create', { ...params(key), spec: text })
        if (row === undefined) {
          throw new MeshcaError('ALREADY_EXISTS', `Resource already exists: ${describeKey(key)}`)
        }
        feed.ownWriteCompleted('create', row.version)
        return toResource(key, row, JSON.parse(text) as JsonObject)
      } finally {
        forgetCachedRow(key)
      }
    },

    async update(key, spec, expectedVersion) {
      ensureOpen()
      checkKey(key)
      const text = serializeSpec(spec, maxSpecBytes)
      try {
        const version = canonicalVersion(expectedVersion)
        if (version === undefined) throw await missingOrConflict(key, 'update')
        const [row] = await updateQuery.execute('update', { ...params(key), spec: text, version })
        if (row === undefined) throw await missingOrConflict(key, 'update')
        feed.ownWriteCompleted('update', row.version)
        return toResource(key, row, JSON.parse(text) as JsonObject)
      } finally {
        forgetCachedRow(key)
      }
    },

    async delete(key, expectedVersion) {
      ensureOpen()
      checkKey(key)
      try {
        let rows: readonly { readonly version: string }[]
        if (expectedVersion === undefined) {
          rows = await deleteQuery.execute('delete', params(key))
        } else {
          const version = canonicalVersion(expectedVersion)
          if (version === undefined) throw await missingOrConflict(key, 'delete')
          rows = await deleteVersionQuery.execute('delete', { ...params(key), version })
        }
        const [row] = rows
        if (row === undefined) throw await missingOrConflict(key, 'delete')
        feed.ownWriteCompleted('delete', row.version)
      } finally {
        forgetCachedRow(key)
      }
    },

    watch(listener, watchOptions): Unsubscribe {
      ensureOpen()
      return feed.subscribe(listener, watchOptions)
    },

    leaderElection(name, options) {
      ensureOpen()
      const election = startLeaderElection(
        {
          name,
          namespace: LOCK_NAMESPACE,
          key: leaderLockKey(schema, name),
          openSession: (sessionSettings) => driver.openLockSession(sessionSettings),
          logger,
        },
        options
      )
      electors.add(election)
      return {
        ...election,
        async stop() {
          electors.delete(election)
          await election.stop()
        },
      }
    },

    close() {
      closing ??= (async () => {
        closed = true
        feed.clear()
        rowCache.clear()
        clearInterval(pruneTimer)
        await Promise.all([...electors].map((election) => election.stop()))
        electors.clear()
        await listening?.close().catch(() => {})
        listening = undefined
        await driver.close()
      })()
      return closing
    },
  }
  return store
}

async function currentSeq(driver: StoreDriver, schema: string): Promise<bigint> {
  const [row] = await queryRows<{ last_value: string; is_called: boolean }>(
    driver.db,
    sql`select last_value::text as last_value, is_called from ${sql.identifier(schema)}.change_seq`
  )
  if (row === undefined) return 0n
  const last = BigInt(row.last_value)
  return row.is_called ? last : last - 1n
}

interface ListShape {
  readonly mesh: boolean
  readonly nameContains: boolean
  readonly after: boolean
}

function shapeId(shape: ListShape): string {
  return `${Number(shape.mesh)}${Number(shape.nameContains)}${Number(shape.after)}`
}

interface EventRow {
  readonly seq: string
  readonly action: string
  readonly type: string
  readonly mesh: string
  readonly name: string
  readonly version: string
}

function toChangeRecord(row: EventRow): ChangeRecord[] {
  if (row.action !== 'create' && row.action !== 'update' && row.action !== 'delete') return []
  return [
    {
      seq: BigInt(row.seq),
      action: row.action,
      type: row.type as ResourceType,
      mesh: row.mesh,
      name: row.name,
      version: row.version,
    },
  ]
}

function corrupted(key: ResourceKey, what: string): MeshcaError {
  return new MeshcaError('CORRUPTED', `Resource ${what} is corrupted: ${describeKey(key)}`)
}

/** What a cached row costs beside its spec: the key, the version and times, the Map entry. */
const CACHED_ROW_OVERHEAD_BYTES = 256

/** The stored JSON text as a spec; CORRUPTED (naming the resource, never the content) if it is not one. */
function parseSpec(key: ResourceKey, text: unknown): JsonObject {
  let spec: unknown
  try {
    spec = typeof text === 'string' ? JSON.parse(text) : undefined
  } catch {
    throw corrupted(key, 'spec')
  }
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw corrupted(key, 'spec')
  return spec as JsonObject
}

function toResource(key: ResourceKey, row: ValueRow, spec: JsonObject): StoredResource {
  const creationMs = Number(row.creationMs)
  const modificationMs = Number(row.modificationMs)
  if (!Number.isFinite(creationMs) || !Number.isFinite(modificationMs)) {
    throw corrupted(key, 'timestamp')
  }
  return {
    type: key.type,
    mesh: key.mesh,
    name: key.name,
    version: row.version,
    creationTime: new Date(creationMs),
    modificationTime: new Date(modificationMs),
    spec,
  }
}
