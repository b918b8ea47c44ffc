/**
 * Leader election takeover times on PostgreSQL, next to the documented bound (`retryMs + leaseMs`,
 * plus 2 % for clock rates and two round trips): how long after the leader's connection is killed
 * (`pg_terminate_backend`) another of three instances leads, and how long after the leader stops.
 * The leader-election test bounds these at ten times the documented figure only; this reports them.
 *
 * Usage: npm run bench:takeover -w @meshca/store-postgres -- [--rounds 12] [--heartbeat-ms 40]
 *        [--lease-ms 300] [--retry-ms 50] [--reporter pretty|json]
 * The server is PG_CONNECTION_STRING, else postgres://postgres@127.0.0.1:5432/postgres.
 */
import { parseArgs } from 'node:util'
import postgres from 'postgres'
import type { LeaderElection, PostgresStore } from '../src/index.ts'
import { createPostgresStore } from '../src/index.ts'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '12' },
    'heartbeat-ms': { type: 'string', default: '40' },
    'lease-ms': { type: 'string', default: '300' },
    'retry-ms': { type: 'string', default: '50' },
    reporter: { type: 'string', default: 'pretty' },
  },
})
const rounds = Number(values.rounds)
const timings = {
  heartbeatMs: Number(values['heartbeat-ms']),
  leaseMs: Number(values['lease-ms']),
  retryMs: Number(values['retry-ms']),
}
const serverUrl = process.env.PG_CONNECTION_STRING || 'postgres://postgres@127.0.0.1:5432/postgres'
const NAME = 'bench-takeover'

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 60_000
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`no ${what} within a minute`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

function soleLeader(elections: readonly LeaderElection[]): LeaderElection | undefined {
  const leaders = elections.filter((election) => election.isLeader())
  return leaders.length === 1 ? leaders[0] : undefined
}

/** Milliseconds from `act` on the current leader until one instance leads again. */
async function takeover(
  elections: LeaderElection[],
  act: (leader: LeaderElection, index: number) => Promise<void>
): Promise<number> {
  await until(() => soleLeader(elections) !== undefined, 'leader')
  const leader = soleLeader(elections) as LeaderElection
  const pid = leader.sessionPid()
  const started = performance.now()
  await act(leader, elections.indexOf(leader))
  await until(() => !leader.isLeader() || leader.sessionPid() !== pid, 'step-down')
  await until(() => soleLeader(elections) !== undefined, 'new leader')
  return performance.now() - started
}

async function main(): Promise<void> {
  const sql = postgres(serverUrl, { max: 1, onnotice: () => {} })
  const schema = `meshca_bench_takeover_${Date.now().toString(36)}`
  const stores: PostgresStore[] = []
  try {
    for (let i = 0; i < 3; i++) {
      stores.push(await createPostgresStore({ url: serverUrl, schema, poolSize: 1 }))
    }
    const elections = stores.map((store) => store.leaderElection(NAME, timings))
    const roundTrips: number[] = []
    for (let i = 0; i < 20; i++) {
      const started = performance.now()
      await sql`select 1`
      roundTrips.push(performance.now() - started)
    }
    const killed: number[] = []
    const stopped: number[] = []
    for (let round = 0; round < rounds; round++) {
      killed.push(
        await takeover(elections, async (leader) => {
          await sql`select pg_terminate_backend(${leader.sessionPid() ?? 0}::int)`
        })
      )
      stopped.push(
        await takeover(elections, async (leader, index) => {
          await leader.stop()
          // The instance competes again, with a new election of its store.
          elections[index] = (stores[index] as PostgresStore).leaderElection(NAME, timings)
        })
      )
    }
    report({ roundTripMs: median(roundTrips), killed, stopped })
    for (const election of elections) await election.stop()
  } finally {
    for (const store of stores) await store.close()
    await sql.unsafe(`drop schema if exists "${schema}" cascade`)
    await sql.end({ timeout: 5 })
  }
}

function report(measured: { roundTripMs: number; killed: number[]; stopped: number[] }): void {
  const boundMs = timings.retryMs + timings.leaseMs * 1.02 + 2 * measured.roundTripMs
  const summary = (xs: number[]) => ({ medianMs: median(xs), maxMs: Math.max(...xs), rounds: xs })
  const result = {
    timings,
    roundTripMs: measured.roundTripMs,
    documentedBoundMs: boundMs,
    afterKill: summary(measured.killed),
    afterStop: summary(measured.stopped),
  }
  if (values.reporter === 'json') {
    console.log(JSON.stringify(result, null, 2))
    return
  }
  // Measured from the client's side: the kill's own round trip, timers firing late and the 2 ms
  // polling come on top of what the bound counts.
  const line = (what: string, xs: number[]) =>
    `  ${what}: median ${median(xs).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms (${(Math.max(...xs) / boundMs).toFixed(2)} × the bound) over ${xs.length} rounds`
  console.log(
    [
      `leader takeover on PostgreSQL, three instances, heartbeat ${timings.heartbeatMs} ms, lease ${timings.leaseMs} ms, retry ${timings.retryMs} ms`,
      `  documented bound: retry + 1.02 × lease + two round trips of ${measured.roundTripMs.toFixed(2)} ms = ${boundMs.toFixed(0)} ms`,
      line('after the leader connection is killed', measured.killed),
      line('after the leader stops', measured.stopped),
    ].join('\n')
  )
}

await main()
