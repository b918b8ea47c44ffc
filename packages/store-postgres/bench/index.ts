/**
 * Store rates next to the raw driver's, measured in the same run, as ratios. For each engine
 * (PostgreSQL through postgres.js, PGlite in memory) and each round: 10,000 Dataplanes and their
 * DataplaneInsights are created, read, updated and listed one operation at a time, and the same
 * driver inserts, selects and updates single rows of a plain table with the same JSON text
 * (pgbench's simple single-row statements). Medians over the rounds; p99 of each round's
 * latencies, median over rounds.
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
  return {
    name: 'PostgreSQL',
    openStore: (schema) => createPostgresStore({ url: serverUrl, schema, poolSize: 4 }),
    raw: {
      async setup(table) {
        await sql.unsafe(`create table ${table} (k text primary key, v text not null)`)
      },
      async insert(table, key, value) {
        await sql.unsafe(`insert into ${table} (k, v) values ($1, $2)`, [key, value], {
          prepare: true,
        })
      },
      async select(table, key) {
        await sql.unsafe(`select v from ${table} where k = $1`, [key], { prepare: true })
      },
      async update(table, key, value) {
        await sql.unsafe(`update ${table} set v = $2 where k = $1`, [key, value], {
          prepare: true,
        })
      },
      close: () => sql.end({ timeout: 5 }),
    },
    dropSchema: async (schema) => {
      await sql.unsafe(`drop schema if exists "${schema}" cascade`)
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
  const latencies = new Float64Array(operations)
  const started = performance.now()
  for (let index = 0; index < operations; index++) {
    const t0 = performance.now()
    await op(index)
    latencies[index] = performance.now() - t0
  }
  const elapsed = performance.now() - started
  latencies.sort()
  return {
    rate: (operations / elapsed) * 1000,
    p50Ms: latencies[Math.floor(operations * 0.5)] ?? 0,
    p99Ms: latencies[Math.min(operations - 1, Math.floor(operations * 0.99))] ?? 0,
  }
}

type Phase =
  | 'raw insert'
  | 'store create'
  | 'raw select'
  | 'store get'
  | 'raw update'
  | 'store update'
  | 'store list all (pages of 1000)'
  | 'store list first page of 100'

async function round(engine: Engine, roundIndex: number): Promise<Map<Phase, Measured>> {
  const results = new Map<Phase, Measured>()
  const schema = `meshca_bench_${Date.now().toString(36)}_${roundIndex}`
  const store = await engine.openStore(schema)
  const rawTable = `"${schema}".bench_raw`
  try {
    await engine.raw.setup(rawTable)
    const dp = (index: number): ResourceKey => ({
      type: 'Dataplane',
      mesh: 'default',
      name: `dp-${index}`,
    })
    const dpi = (index: number): ResourceKey => ({
      type: 'DataplaneInsight',
      mesh: 'default',
      name: `dp-${index}`,
    })
    const dataplaneText = Array.from({ length: count }, (_, index) =>
      JSON.stringify(dataplane(index))
    )
    const insightText = Array.from({ length: count }, (_, index) =>
      JSON.stringify(insight(index, 1))
    )

    // Raw and store phases alternate, so that both see the same state of a shared machine.
    results.set(
      'raw insert',
      await measure(count, (index) =>
        engine.raw.insert(rawTable, `dp-${index}`, dataplaneText[index] ?? '')
      )
    )
    const versions = new Array<string>(count)
    const dataplanes = await measure(count, (index) => store.create(dp(index), dataplane(index)))
    const insights = await measure(count, async (index) => {
      versions[index] = (await store.create(dpi(index), insight(index, 1))).version
    })
    results.set('store create', {
      rate: (dataplanes.rate + insights.rate) / 2,
      p50Ms: (dataplanes.p50Ms + insights.p50Ms) / 2,
      p99Ms: Math.max(dataplanes.p99Ms, insights.p99Ms),
    })
    results.set(
      'raw select',
      await measure(count, (index) => engine.raw.select(rawTable, `dp-${index}`))
    )
    results.set('store get', await measure(count, (index) => store.get(dp(index))))
    results.set(
      'raw update',
      await measure(count, (index) =>
        engine.raw.update(rawTable, `dp-${index}`, insightText[index] ?? '')
      )
    )
    results.set(
      'store update',
      await measure(count, async (index) => {
        versions[index] = (
          await store.update(dpi(index), insight(index, 2), versions[index] ?? '')
        ).version
      })
    )
    const walks = 3
    const walk = await measure(walks, async () => {
      let offset: string | undefined
      let seen = 0
      do {
        const page = await store.list('Dataplane', {
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
    results.set('store list first page of 100', await measure(200, () => store.list('Dataplane')))
  } finally {
    await store.close()
    await engine.dropSchema(schema)
  }
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
    try {
      const perRound: Map<Phase, Measured>[] = []
      for (let index = 0; index < rounds; index++) {
        perRound.push(await round(engine, index))
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
      for (const [store, raw] of [
        ['store create', 'raw insert'],
        ['store get', 'raw select'],
        ['store update', 'raw update'],
      ] as const) {
        const s = byPhase.get(store)
        const r = byPhase.get(raw)
        if (s === undefined || r === undefined) continue
        const ratio = r.opsPerSecond / s.opsPerSecond
        comparisons.push({
          engine: engine.name,
          operation: `${store} vs ${raw}`,
          overhead: Number(ratio.toFixed(2)),
          target: 1.5,
          met: ratio <= 1.5,
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
