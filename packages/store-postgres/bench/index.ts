/**
 * Store rates next to the raw driver's, measured in the same run, as ratios. For each engine
 * (PostgreSQL through postgres.js, PGlite in memory) and each round: 10,000 Dataplanes and their
 * DataplaneInsights are created, read, updated and listed one operation at a time, and the same
 * driver inserts, selects and updates single rows of a plain table with the same JSON text
 * (pgbench's simple single-row statements). Raw and store operations take turns of 200 within a
 * phase, so that both meet the same moments of a shared machine. Overheads are raw rate / store
 * rate within each round, median over rounds; rates, p50 and p99 are medians over rounds.
 *
 * Each engine has one store for all its rounds, as an application has one per process, and each
 * round writes a mesh of its own into it; the raw tables, too, are the engine's and take each
 * round's rows under keys of their own, so that all tables grow alike. A process's later stores
 * run slower than its first: when every round opened a store of its own, reads by key of the second
 * and third took 25-30 us more than the first's (1.48-1.78 vs 1.17-1.52 against raw in 9 runs of 3
 * rounds here, p99 1.1-1.4 ms; a run of 1 round per process gave 1.23-1.40), which measured
 * reopening, not the store's overhead.
 *
 * A second raw table has what the store's change events cost any writer: a trigger that sends a
 * NOTIFY per row (a payload of the store's size) and a listener in this process. Its inserts and
 * updates are a second, informational baseline: how much of the store's overhead is that mechanism
 * (issue 3 asks for events to every instance over LISTEN/NOTIFY), and how much is the store's own.
 * On PostgreSQL that table is in a database of its own, created and dropped here. Its listener is a
 * connection of its own, which every write wakes; the store writes on its LISTEN connection, which
 * PostgreSQL does not wake for its own notifications, so the store may come out below that baseline.
 *
 * Usage: npm run bench -w packages/store-postgres -- [--count 10000] [--rounds 3]
 *        [--scope postgres|pglite] [--reporter pretty|json]
 * The server is PG_CONNECTION_STRING, else postgres://postgres@127.0.0.1:5432/postgres.
 */
import { parseArgs } from 'node:util'
import { PGlite } from '@electric-sql/pglite'
import type { JsonObject, ResourceKey } from '@meshca/core-mtls'
import postgres from 'postgres'
import type { PostgresStore } from '../src/index.ts'
import { createPgliteStore, createPostgresStore } from '../src/index.ts'

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '3' },
    scope: { type: 'string' },
    reporter: { type: 'string', default: 'pretty' },
  },
})
const count = Number(values.count)
const rounds = Number(values.rounds)
const serverUrl = process.env.PG_CONNECTION_STRING || 'postgres://postgres@127.0.0.1:5432/postgres'

/** What one engine offers the raw baseline: single-row statements through the store's driver. */
interface RawDriver {
  setup(table: string): Promise<void>
  /**
   * Creates `table` with a trigger that NOTIFYs `channel` on every insert and update, and listens
   * on `channel` here; returns how many notifications arrived so far.
   */
  setupNotified(table: string, channel: string): Promise<() => number>
  insert(table: string, key: string, value: string): Promise<void>
  select(table: string, key: string): Promise<void>
  update(table: string, key: string, value: string): Promise<void>
  close(): Promise<void>
}

interface Engine {
  readonly name: string
  openStore(schema: string): Promise<PostgresStore>
  raw: RawDriver
  dropSchema(schema: string): Promise<void>
  close(): Promise<void>
}

async function postgresEngine(): Promise<Engine> {
  const sql = postgres(serverUrl, { max: 1, onnotice: () => {} })
  // The NOTIFY baseline lives in a database of its own: a backend that LISTENs is woken by every
  // notification of its database, whatever the channel, so a listener beside the store's table
  // would tax the store's writes and the store's listener the baseline's.
  const notifyDatabase = `meshca_bench_notify_${Date.now().toString(36)}`
  await sql.unsafe(`create database "${notifyDatabase}"`)
  const notifyUrl = new URL(serverUrl)
  notifyUrl.pathname = `/${notifyDatabase}`
  const notifySql = postgres(notifyUrl.toString(), { max: 1, onnotice: () => {} })
  const listener = postgres(notifyUrl.toString(), { max: 1, onnotice: () => {} })
  const notifiedTables = new Set<string>()
  const clientFor = (table: string) => (notifiedTables.has(table) ? notifySql : sql)
  return {
    name: 'PostgreSQL',
    openStore: (schema) => createPostgresStore({ url: serverUrl, schema, poolSize: 4 }),
    raw: {
      async setup(table) {
        await sql.unsafe(`create table ${table} (k text primary key, v text not null)`)
      },
      async setupNotified(table, channel) {
        notifiedTables.add(table)
        const schema = table.slice(0, table.indexOf('.'))
        await notifySql.unsafe(`create schema if not exists ${schema}`)
        await notifySql.unsafe(notifiedTableSql(table, channel))
        let received = 0
        await listener.listen(channel, () => {
          received += 1
        })
        return () => received
      },
      async insert(table, key, value) {
        await clientFor(table).unsafe(`insert into ${table} (k, v) values ($1, $2)`, [key, value], {
          prepare: true,
        })
      },
      async select(table, key) {
        await clientFor(table).unsafe(`select v from ${table} where k = $1`, [key], {
          prepare: true,
        })
      },
      async update(table, key, value) {
        await clientFor(table).unsafe(`update ${table} set v = $2 where k = $1`, [key, value], {
          prepare: true,
        })
      },
      close: async () => {
        try {
          await listener.end({ timeout: 5 })
          await notifySql.end({ timeout: 5 })
        } finally {
          await sql.unsafe(`drop database if exists "${notifyDatabase}" with (force)`)
        }
      },
    },
    dropSchema: async (schema) => {
      await sql.unsafe(`drop schema if exists "${schema}" cascade`)
      await notifySql.unsafe(`drop schema if exists "${schema}" cascade`)
    },
    close: () => sql.end({ timeout: 5 }),
  }
}

async function pgliteEngine(): Promise<Engine> {
  const pglite = await PGlite.create()
  return {
    name: 'PGlite',
    openStore: (schema) => createPgliteStore({ pglite, schema }),
    raw: {
      async setup(table) {
        await pglite.exec(`create table ${table} (k text primary key, v text not null)`)
      },
      async setupNotified(table, channel) {
        await pglite.exec(notifiedTableSql(table, channel))
        let received = 0
        await pglite.listen(`"${channel}"`, () => {
          received += 1
        })
        return () => received
      },
      async insert(table, key, value) {
        await pglite.query(`insert into ${table} (k, v) values ($1, $2)`, [key, value])
      },
      async select(table, key) {
        await pglite.query(`select v from ${table} where k = $1`, [key])
      },
      async update(table, key, value) {
        await pglite.query(`update ${table} set v = $2 where k = $1`, [key, value])
      },
      close: async () => {},
    },
    dropSchema: async (schema) => {
      await pglite.exec(`drop schema if exists "${schema}" cascade`)
    },
    close: () => pglite.close(),
  }
}

/**
 * A plain table whose rows NOTIFY as the store's do: one notification per row, after the row is
 * written, with a JSON payload of the same fields.
 */
function notifiedTableSql(table: string, channel: string): string {
  const fn = `${table}_notify`
  return `
    create table ${table} (k text primary key, v text not null);
    create function ${fn}() returns trigger language plpgsql as $$
    begin
      perform pg_notify('${channel}', json_build_object('seq', '1234567', 'action',
        lower(TG_OP), 'type', 'Dataplane', 'mesh', 'default', 'name', NEW.k, 'version', '1234567')::text);
      return null;
    end $$;
    create trigger notify after insert or update on ${table} for each row execute function ${fn}();`
}

function dataplane(index: number): JsonObject {
  return {
    networking: {
      address: `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`,
      inbound: [
        {
          port: 8080,
          servicePort: 80,
          tags: {
            'kuma.io/service': `service-${index % 100}`,
            'kuma.io/protocol': 'http',
            version: 'v1',
          },
        },
      ],
      outbound: [{ port: 10001, tags: { 'kuma.io/service': 'backend' } }],
    },
  }
}

function insight(index: number, generation: number): JsonObject {
  return {
    subscriptions: [
      {
        id: `subscription-${index}`,
        controlPlaneInstanceId: 'meshca-0',
        connectTime: '2026-01-01T00:00:00Z',
        status: {
          lastUpdateTime: '2026-01-01T00:00:00Z',
          total: { responsesSent: String(generation) },
        },
      },
    ],
    mTLS: {
      certificateExpirationTime: '2026-02-01T00:00:00Z',
      lastCertificateRegeneration: '2026-01-01T00:00:00Z',
      certificateRegenerations: generation,
      issuedBackend: 'ca-1',
      supportedBackends: ['ca-1'],
    },
  }
}

interface Measured {
  /** Operations per second over the phase. */
  readonly rate: number
  readonly p50Ms: number
  readonly p99Ms: number
}

async function measure(
  operations: number,
  op: (index: number) => Promise<unknown>
): Promise<Measured> {
  return (await measureInterleaved(operations, [op]))[0] as Measured
}

/** Operations of each phase run in turns of this many, so that all see the same shared machine. */
const TURN = 200

/**
 * Runs `operations` of each op, alternating between them every TURN operations: a slow spell of
 * the machine falls on all of them, instead of on whichever phase ran during it.
 */
async function measureInterleaved(
  operations: number,
  ops: readonly ((index: number) => Promise<unknown>)[]
): Promise<Measured[]> {
  const latencies = ops.map(() => new Float64Array(operations))
  const elapsed = ops.map(() => 0)
  for (let from = 0; from < operations; from += TURN) {
    const to = Math.min(operations, from + TURN)
    for (const [which, op] of ops.entries()) {
      const own = latencies[which] as Float64Array
      const started = performance.now()
      for (let index = from; index < to; index++) {
        const t0 = performance.now()
        await op(index)
        own[index] = performance.now() - t0
      }
      elapsed[which] = (elapsed[which] ?? 0) + performance.now() - started
    }
  }
  return ops.map((_, which) => {
    const sorted = (latencies[which] as Float64Array).sort()
    return {
      rate: (operations / (elapsed[which] ?? 1)) * 1000,
      p50Ms: sorted[Math.floor(operations * 0.5)] ?? 0,
      p99Ms: sorted[Math.min(operations - 1, Math.floor(operations * 0.99))] ?? 0,
    }
  })
}

type Phase =
  | 'raw insert'
  | 'raw insert + NOTIFY'
  | 'store create'
  | 'raw select'
  | 'store get'
  | 'raw update'
  | 'raw update + NOTIFY'
  | 'store update'
  | 'store list all (pages of 1000)'
  | 'store list first page of 100'

/** What every round of an engine works on: its tables grow round by round, the store's as well. */
interface Tables {
  readonly store: PostgresStore
  readonly raw: string
  readonly notified: string
  /** How many notifications of `notified` arrived so far. */
  readonly notificationsReceived: () => number
}

/** One round; its resources are in a mesh of its own, and its raw rows have that mesh in their key. */
async function round(
  engine: Engine,
  tables: Tables,
  roundIndex: number
): Promise<Map<Phase, Measured>> {
  const results = new Map<Phase, Measured>()
  const { store, raw: rawTable, notified: notifiedTable, notificationsReceived } = tables
  const mesh = `round-${roundIndex}`
  const rawKey = (index: number) => `${mesh}/dp-${index}`
  const notificationsBefore = notificationsReceived()
  const dp = (index: number): ResourceKey => ({
    type: 'Dataplane',
    mesh,
    name: `dp-${index}`,
  })
  const dpi = (index: number): ResourceKey => ({
    type: 'DataplaneInsight',
    mesh,
    name: `dp-${index}`,
  })
  const dataplaneText = Array.from({ length: count }, (_, index) =>
    JSON.stringify(dataplane(index))
  )
  const insightText = Array.from({ length: count }, (_, index) => JSON.stringify(insight(index, 1)))

  // Raw and store operations take turns (measureInterleaved), so both see the same machine.
  const versions = new Array<string>(count)
  const [rawInsert, notifiedInsert, dataplanes, insights] = await measureInterleaved(count, [
    (index) => engine.raw.insert(rawTable, rawKey(index), dataplaneText[index] ?? ''),
    (index) => engine.raw.insert(notifiedTable, rawKey(index), dataplaneText[index] ?? ''),
    (index) => store.create(dp(index), dataplane(index)),
    async (index) => {
      versions[index] = (await store.create(dpi(index), insight(index, 1))).version
    },
  ])
  if (
    rawInsert === undefined ||
    notifiedInsert === undefined ||
    dataplanes === undefined ||
    insights === undefined
  ) {
    throw new Error('a create phase was not measured')
  }
  results.set('raw insert', rawInsert)
  results.set('raw insert + NOTIFY', notifiedInsert)
  results.set('store create', {
    rate: 2 / (1 / dataplanes.rate + 1 / insights.rate),
    p50Ms: (dataplanes.p50Ms + insights.p50Ms) / 2,
    p99Ms: Math.max(dataplanes.p99Ms, insights.p99Ms),
  })
  const [rawSelect, storeGet] = await measureInterleaved(count, [
    (index) => engine.raw.select(rawTable, rawKey(index)),
    (index) => store.get(dp(index)),
  ])
  const [rawUpdate, notifiedUpdate, storeUpdate] = await measureInterleaved(count, [
    (index) => engine.raw.update(rawTable, rawKey(index), insightText[index] ?? ''),
    (index) => engine.raw.update(notifiedTable, rawKey(index), insightText[index] ?? ''),
    async (index) => {
      versions[index] = (
        await store.update(dpi(index), insight(index, 2), versions[index] ?? '')
      ).version
    },
  ])
  if (
    rawSelect === undefined ||
    storeGet === undefined ||
    rawUpdate === undefined ||
    notifiedUpdate === undefined ||
    storeUpdate === undefined
  ) {
    throw new Error('a read or update phase was not measured')
  }
  results.set('raw select', rawSelect)
  results.set('store get', storeGet)
  results.set('raw update', rawUpdate)
  results.set('raw update + NOTIFY', notifiedUpdate)
  results.set('store update', storeUpdate)
  // The baseline counts only if its listener got every notification, as the store's must.
  const expected = notificationsBefore + 2 * count
  for (let waited = 0; notificationsReceived() < expected && waited < 5000; waited += 10) {
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  if (notificationsReceived() !== expected) {
    throw new Error(
      `the raw listener got ${notificationsReceived() - notificationsBefore} of ${2 * count} notifications`
    )
  }
  const walks = 3
  const walk = await measure(walks, async () => {
    let offset: string | undefined
    let seen = 0
    do {
      const page = await store.list('Dataplane', {
        mesh,
        size: 1000,
        ...(offset === undefined ? {} : { offset }),
      })
      seen += page.items.length
      offset = page.next
    } while (offset !== undefined)
    if (seen !== count) throw new Error(`listed ${seen} of ${count}`)
  })
  // For a walk, "rate" is walks per second; what matters is its duration (p50).
  results.set('store list all (pages of 1000)', walk)
  results.set(
    'store list first page of 100',
    await measure(200, () => store.list('Dataplane', { mesh }))
  )
  return results
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

interface Summary {
  engine: string
  phase: Phase
  opsPerSecond: number
  p50Ms: number
  p99Ms: number
}

async function main(): Promise<void> {
  const engines: (() => Promise<Engine>)[] = []
  if (values.scope === undefined || values.scope === 'postgres') engines.push(postgresEngine)
  if (values.scope === undefined || values.scope === 'pglite') engines.push(pgliteEngine)
  const summaries: Summary[] = []
  const comparisons: Record<string, unknown>[] = []
  for (const makeEngine of engines) {
    const engine = await makeEngine()
    const schema = `meshca_bench_${Date.now().toString(36)}`
    let store: PostgresStore | undefined
    try {
      store = await engine.openStore(schema)
      const raw = `"${schema}".bench_raw`
      const notified = `"${schema}".bench_raw_notified`
      await engine.raw.setup(raw)
      const notificationsReceived = await engine.raw.setupNotified(notified, `${schema}.raw`)
      const tables = { store, raw, notified, notificationsReceived }
      const perRound: Map<Phase, Measured>[] = []
      for (let index = 0; index < rounds; index++) {
        perRound.push(await round(engine, tables, index))
        if (values.reporter !== 'json')
          process.stderr.write(`${engine.name}: round ${index + 1}/${rounds} done\n`)
      }
      const phases = [...(perRound[0]?.keys() ?? [])]
      const byPhase = new Map<Phase, Summary>()
      for (const phase of phases) {
        const of = (pick: (m: Measured) => number) =>
          median(perRound.map((r) => pick(r.get(phase) ?? { rate: 0, p50Ms: 0, p99Ms: 0 })))
        const summary = {
          engine: engine.name,
          phase,
          opsPerSecond: of((m) => m.rate),
          p50Ms: of((m) => m.p50Ms),
          p99Ms: of((m) => m.p99Ms),
        }
        byPhase.set(phase, summary)
        summaries.push(summary)
      }
      // Pairs without a target are informational: what NOTIFY costs a raw writer, and the store's
      // overhead over a raw writer that pays it too.
      for (const [store, raw, target] of [
        ['store create', 'raw insert', 1.5],
        ['store get', 'raw select', 1.5],
        ['store update', 'raw update', 1.5],
        ['raw insert + NOTIFY', 'raw insert', undefined],
        ['raw update + NOTIFY', 'raw update', undefined],
        ['store create', 'raw insert + NOTIFY', undefined],
        ['store update', 'raw update + NOTIFY', undefined],
      ] as const) {
        // Each round's raw and store phases ran interleaved: the ratio is taken within a round,
        // then the median over rounds.
        const ratios = perRound.flatMap((measured) => {
          const s = measured.get(store)
          const r = measured.get(raw)
          return s === undefined || r === undefined ? [] : [r.rate / s.rate]
        })
        if (ratios.length === 0) continue
        const ratio = median(ratios)
        comparisons.push({
          engine: engine.name,
          operation: `${store} vs ${raw}`,
          rounds: ratios.map((x) => x.toFixed(2)).join(' '),
          overhead: Number(ratio.toFixed(2)),
          ...(target === undefined ? {} : { target, met: ratio <= target }),
        })
      }
      const walk = byPhase.get('store list all (pages of 1000)')
      if (walk !== undefined) {
        comparisons.push({
          engine: engine.name,
          operation: `list ${count} resources`,
          ms: Number(walk.p50Ms.toFixed(1)),
          ...(engine.name === 'PostgreSQL' ? { targetMs: 1000, met: walk.p50Ms < 1000 } : {}),
        })
      }
    } finally {
      await store?.close()
      await engine.dropSchema(schema)
      await engine.raw.close()
      await engine.close()
    }
  }
  if (values.reporter === 'json') {
    console.log(JSON.stringify({ count, rounds, summaries, comparisons }, null, 2))
    return
  }
  console.log(`\n${count} resources per phase, ${rounds} rounds, medians`)
  console.table(
    summaries.map((s) => ({
      engine: s.engine,
      phase: s.phase,
      'ops/s': Math.round(s.opsPerSecond),
      'p50 ms': Number(s.p50Ms.toFixed(3)),
      'p99 ms': Number(s.p99Ms.toFixed(3)),
    }))
  )
  console.table(comparisons)
}

await main()
