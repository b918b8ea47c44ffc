/**
 * `npm run bench:dataplane`: meshca-dp's L4 mTLS proxy pair next to HAProxy doing the same mTLS
 * origination and termination, and next to no proxy at all, on loopback with the same
 * certificates. Each setup is client → [outbound proxy] → [inbound proxy] → app; the app, each
 * proxy and the load client are processes of their own. Per setup: new mTLS connections/s (a
 * small request and response on each), bulk throughput into the app, and the latency at a fixed
 * open-loop rate. Medians of the repeats, ratios to HAProxy and the targets they are held to.
 *
 * Usage: npm run bench:dataplane -- [--quick] [--repeats 3] [--seconds 5] [--latency-seconds 10]
 *   [--concurrency 16] [--bulk-connections 4] [--rate 1000] [--latency-connections 4]
 *   [--setups direct,meshca-dp,meshca-dp-bun,haproxy[,haproxy-mt,haproxy-noreuse]] [--cpu-prof DIR]
 * `meshca-dp` runs the proxy pair on Node, `meshca-dp-bun` the same code on Bun.
 * Both proxies resume TLS sessions between their outbound and inbound (HAProxy's default, and
 * meshca-dp's). `haproxy-mt`: HAProxy with its default thread count; `haproxy-noreuse`: with
 * `no-ssl-reuse`, a full handshake per connection. MESHCA_BENCH_DEBUG=1 prints the children's output.
 */
import { type ChildProcess, execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { InboundConfig, OutboundConfig } from '@meshca/core-mtls'
import { type BenchCertificates, makeCertificates } from './certs.ts'
import type { Job, JobResult } from './client.ts'
import { haproxyVersion, startHaproxyPair } from './haproxy.ts'
import type { ProxyProcessSpec } from './proxy-process.ts'
import {
  cpuSeconds,
  freePort,
  listening,
  median,
  message,
  onCleanup,
  quantile,
  recentOutput,
  start,
  stopAll,
} from './support.ts'

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    repeats: { type: 'string' },
    seconds: { type: 'string' },
    'latency-seconds': { type: 'string' },
    concurrency: { type: 'string', default: '16' },
    'bulk-connections': { type: 'string', default: '4' },
    rate: { type: 'string', default: '1000' },
    'latency-connections': { type: 'string', default: '4' },
    setups: { type: 'string', default: 'direct,meshca-dp,meshca-dp-bun,haproxy' },
    'cpu-prof': { type: 'string' },
  },
})
function count(name: string, text: string, min: number): number {
  const value = Number(text)
  if (!/^\d+$/.test(text) || value < min) {
    throw new Error(`--${name} must be a whole number, ${min} or more (got "${text}")`)
  }
  return value
}
const quick = values.quick
const repeats = count('repeats', values.repeats ?? (quick ? '1' : '3'), 1)
const seconds = count('seconds', values.seconds ?? (quick ? '2' : '5'), 1)
const latencySeconds = count(
  'latency-seconds',
  values['latency-seconds'] ?? (quick ? '3' : '10'),
  1
)
const concurrency = count('concurrency', values.concurrency, 1)
const bulkConnections = count('bulk-connections', values['bulk-connections'], 1)
const rate = count('rate', values.rate, 1)
const latencyConnections = count('latency-connections', values['latency-connections'], 1)
/** Unmeasured seconds before each setup's first measurement (JIT, session caches, pools). */
const WARMUP = quick ? 1 : 2
/** Latency runs discard their first second. */
const LATENCY_WARMUP = quick ? 0.5 : 1
const SETUPS = [
  'direct',
  'meshca-dp',
  'meshca-dp-bun',
  'haproxy',
  'haproxy-mt',
  'haproxy-noreuse',
] as const
type SetupName = (typeof SETUPS)[number]
const wanted = values.setups.split(',') as SetupName[]
for (const name of wanted) {
  if (!SETUPS.includes(name)) throw new Error(`--setups: unknown "${name}" (${SETUPS.join(', ')})`)
}
const TARGETS = { connections: 0.5, throughput: 0.7, addedP99Ms: 1 }
const MESH = 'default'
const SNI = `backend{mesh=${MESH}}`
const APP_DIR = fileURLToPath(new URL('..', import.meta.url))
/** How the bench's TypeScript children run: Node with tsx's loader and the source condition. */
const TS_NODE = ['--import', 'tsx', '--conditions=@meshca/source']
/** The agent's other runtime: Bun (an npm dev dependency of the repository), from source. */
const BUN = resolve(APP_DIR, '../../node_modules/.bin/bun')
const BUN_SOURCE = ['--conditions=@meshca/source']

function bunVersion(): string {
  try {
    return execFileSync(BUN, ['--version'], { encoding: 'utf8' }).trim()
  } catch {
    return '(not found)'
  }
}

const step = (text: string) => console.error(`[bench] ${text}`)

interface Setup {
  readonly name: SetupName
  /** What the table says about it. */
  readonly description: string
  readonly port: number
  /** The proxy processes (none for `direct`). */
  readonly processes: readonly ChildProcess[]
}

// ---------------------------------------------------------------------------------------------
// Children: the app, the load client, the proxies.

async function startApp(): Promise<{ child: ChildProcess; port: number }> {
  const child = start('app', process.execPath, [...TS_NODE, 'bench/app.ts'], {
    cwd: APP_DIR,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  })
  const m = await message(
    child,
    (m): m is { type: 'listening'; port: number } => (m as { type?: string }).type === 'listening'
  )
  return { child, port: m.port }
}

let nextId = 0
function askApp(app: ChildProcess): Promise<{ bytes: number; at: number }> {
  const id = nextId++
  app.send({ type: 'sunk', id })
  return message(
    app,
    (m): m is { type: 'sunk'; id: number; bytes: number; at: number } =>
      (m as { id?: number; type?: string }).type === 'sunk' && (m as { id: number }).id === id
  )
}

async function startClient(): Promise<ChildProcess> {
  const child = start('client', process.execPath, [...TS_NODE, 'bench/client.ts'], {
    cwd: APP_DIR,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  })
  await message(child, (m): m is { ready: true } => (m as { ready?: boolean }).ready === true)
  return child
}

async function runJob(client: ChildProcess, job: Job): Promise<JobResult> {
  const id = nextId++
  client.send({ id, job })
  const answer = await message(
    client,
    (m): m is { id: number; result?: JobResult; error?: string } => (m as { id?: number }).id === id
  )
  if (answer.error !== undefined || answer.result === undefined) {
    throw new Error(`load client: ${answer.error}`)
  }
  return answer.result
}

async function startMeshcaPair(
  dir: string,
  certificates: BenchCertificates,
  appPort: number,
  runtime: 'node' | 'bun'
): Promise<Setup> {
  const [outboundPort, inboundPort] = [await freePort(), await freePort()]
  const identity = (service: 'web' | 'backend'): ProxyProcessSpec['identity'] => ({
    certificateChain: certificates.leaves[service].certificatePem,
    privateKey: certificates.leaves[service].keyPem,
    trustBundle: certificates.caPem,
    mode: 'STRICT',
    backend: 'ca-1',
    expiration: certificates.notAfter.toISOString(),
  })
  const inbound: InboundConfig = {
    address: '127.0.0.1',
    port: inboundPort,
    serviceAddress: '127.0.0.1',
    servicePort: appPort,
    tags: { 'kuma.io/service': 'backend' },
    policy: { permission: 'allow-all-default', principals: [[]] },
  }
  const outbound: OutboundConfig = {
    address: '127.0.0.1',
    port: outboundPort,
    service: 'backend',
    tags: { 'kuma.io/service': 'backend' },
    sni: SNI,
    identity: `spiffe://${MESH}/backend`,
    tlsReady: true,
    endpoints: [
      {
        address: '127.0.0.1',
        port: inboundPort,
        dataplane: 'backend-1',
        tags: { 'kuma.io/service': 'backend' },
      },
    ],
  }
  const specs: [string, ProxyProcessSpec][] = [
    ['inbound', { role: 'inbound', mesh: MESH, identity: identity('backend'), config: inbound }],
    ['outbound', { role: 'outbound', mesh: MESH, identity: identity('web'), config: outbound }],
  ]
  const extraFlags = process.env.MESHCA_BENCH_PROXY_FLAGS?.split(' ').filter(Boolean) ?? []
  const processes: ChildProcess[] = []
  for (const [role, spec] of specs) {
    const file = join(dir, `meshca-dp-${role}.json`)
    writeFileSync(file, JSON.stringify(spec))
    // One profile per thread (tsx's loader hooks run on one of their own), named by pid and thread.
    const profile = values['cpu-prof']
      ? ['--cpu-prof', `--cpu-prof-dir=${resolve(values['cpu-prof'], `meshca-dp-${role}`)}`]
      : []
    const child =
      runtime === 'bun'
        ? start(`meshca-dp-bun ${role}`, BUN, [...BUN_SOURCE, 'bench/proxy-process.ts', file], {
            cwd: APP_DIR,
          })
        : start(
            `meshca-dp ${role}`,
            process.execPath,
            [...profile, ...extraFlags, ...TS_NODE, 'bench/proxy-process.ts', file],
            { cwd: APP_DIR }
          )
    processes.push(child)
    await listening(spec.config.port, child)
  }
  return {
    name: runtime === 'bun' ? 'meshca-dp-bun' : 'meshca-dp',
    description:
      runtime === 'bun'
        ? `meshca-dp pair on Bun ${bunVersion()} (2 processes, its node:tls)`
        : `meshca-dp pair (2 Node ${process.version} processes, node:tls, TLS session resumption)`,
    port: outboundPort,
    processes,
  }
}

async function startHaproxy(
  name: 'haproxy' | 'haproxy-mt' | 'haproxy-noreuse',
  dir: string,
  certificates: BenchCertificates,
  appPort: number
): Promise<Setup> {
  const [outboundPort, inboundPort] = [await freePort(), await freePort()]
  const threads = name === 'haproxy-mt' ? undefined : 1
  const sessionReuse = name !== 'haproxy-noreuse'
  const pair = startHaproxyPair({
    label: name,
    dir,
    certificates,
    outboundPort,
    inboundPort,
    appPort,
    threads,
    sessionReuse,
    sni: SNI,
  })
  await listening(inboundPort, pair.inbound)
  await listening(outboundPort, pair.outbound)
  return {
    name,
    description: `HAProxy pair (2 processes, ${threads === undefined ? `default threads = ${availableParallelism()} each` : 'nbthread 1 each'}, ${sessionReuse ? 'TLS session reuse on' : 'no-ssl-reuse: a full handshake per connection'})`,
    port: outboundPort,
    processes: [pair.inbound, pair.outbound],
  }
}

// ---------------------------------------------------------------------------------------------
// Measurements.

interface Sample {
  readonly value: number
  /** CPU of the setup's proxies over the run, in core-seconds. */
  readonly proxyCpu: number
  readonly appCpu: number
  readonly clientCpu: number
  readonly wall: number
  readonly errors: number
  readonly firstError?: string | undefined
  readonly p50?: number
  readonly p99?: number
  /** p99 from the moment each request was written (the client's timer lateness left out). */
  readonly serviceP99?: number
  readonly unanswered?: number | undefined
  readonly requests?: number
}

function cpuOf(processes: readonly ChildProcess[]): number {
  return processes.reduce((sum, child) => sum + cpuSeconds(child.pid), 0)
}

async function measureConnections(client: ChildProcess, app: ChildProcess, setup: Setup) {
  const proxy0 = cpuOf(setup.processes)
  const app0 = cpuSeconds(app.pid)
  const t0 = performance.now()
  const r = await runJob(client, {
    kind: 'connections',
    port: setup.port,
    concurrency,
    warmup: 0,
    seconds,
  })
  const wall = (performance.now() - t0) / 1000
  return {
    value: r.count / r.elapsed,
    proxyCpu: cpuOf(setup.processes) - proxy0,
    appCpu: cpuSeconds(app.pid) - app0,
    clientCpu: r.cpu,
    wall,
    errors: r.errors,
    firstError: r.firstError,
    requests: r.count,
  } satisfies Sample
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function measureBulk(client: ChildProcess, app: ChildProcess, setup: Setup) {
  const warmupMs = 1000
  const job = runJob(client, {
    kind: 'bulk',
    port: setup.port,
    concurrency: bulkConnections,
    seconds: seconds + warmupMs / 1000 + 0.3,
  })
  await sleep(warmupMs)
  const proxy0 = cpuOf(setup.processes)
  const appCpu0 = cpuSeconds(app.pid)
  const before = await askApp(app)
  await sleep(seconds * 1000)
  const after = await askApp(app)
  const proxyCpu = cpuOf(setup.processes) - proxy0
  const appCpu = cpuSeconds(app.pid) - appCpu0
  const r = await job
  const wall = (after.at - before.at) / 1000
  return {
    value: (after.bytes - before.bytes) / wall / 1e6,
    proxyCpu,
    appCpu,
    clientCpu: r.cpu,
    wall,
    errors: r.errors,
    firstError: r.firstError,
  } satisfies Sample
}

async function measureLatency(client: ChildProcess, app: ChildProcess, setup: Setup) {
  const proxy0 = cpuOf(setup.processes)
  const app0 = cpuSeconds(app.pid)
  const t0 = performance.now()
  const r = await runJob(client, {
    kind: 'latency',
    port: setup.port,
    concurrency: latencyConnections,
    rate,
    warmup: LATENCY_WARMUP,
    seconds: latencySeconds,
  })
  const wall = (performance.now() - t0) / 1000
  const latencies = r.latencies ?? []
  return {
    value: quantile(latencies, 0.99),
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    serviceP99: quantile(r.serviceLatencies ?? [], 0.99),
    proxyCpu: cpuOf(setup.processes) - proxy0,
    appCpu: cpuSeconds(app.pid) - app0,
    clientCpu: r.cpu,
    wall,
    errors: r.errors,
    firstError: r.firstError,
    unanswered: r.unanswered,
    requests: r.count,
  } satisfies Sample
}

const METRICS = {
  connections: { title: 'new mTLS connections/s', unit: '/s', measure: measureConnections },
  throughput: { title: 'bulk throughput', unit: 'MB/s', measure: measureBulk },
  latency: { title: `latency at ${rate} req/s`, unit: 'ms', measure: measureLatency },
} as const
type Metric = keyof typeof METRICS

// ---------------------------------------------------------------------------------------------
// Report.

const fmt = (x: number | undefined, digits = 0) =>
  x === undefined || Number.isNaN(x)
    ? '—'
    : x.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits })
const pct = (x: number) => `${Math.round(x * 100)}%`

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? []
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
        .join('  ')
    )
    .join('\n')
}

function report(setups: readonly Setup[], results: Map<string, Sample[]>): boolean {
  const samples = (metric: Metric, setup: SetupName) => results.get(`${metric}/${setup}`) ?? []
  const names = setups.map((s) => s.name)
  const runs = repeats > 1 ? `median of ${repeats}` : '1 run'
  console.log('')
  // Connections.
  {
    const rows = [
      [
        'setup',
        `conn/s (${runs})`,
        'runs',
        'proxy CPU ms/conn',
        'proxy CPU',
        'client CPU',
        'errors',
      ],
    ]
    for (const name of names) {
      const s = samples('connections', name)
      const conns = s.reduce((sum, x) => sum + (x.requests ?? 0), 0)
      const cpu = s.reduce((sum, x) => sum + x.proxyCpu, 0)
      rows.push([
        name,
        fmt(median(s.map((x) => x.value))),
        s.map((x) => fmt(x.value)).join(' '),
        name === 'direct' ? '—' : fmt((cpu * 1000) / conns, 3),
        name === 'direct' ? '—' : pct(median(s.map((x) => x.proxyCpu / x.wall))),
        pct(median(s.map((x) => x.clientCpu))),
        String(s.reduce((sum, x) => sum + x.errors, 0)),
      ])
    }
    console.log(
      `new mTLS connections/s: ${concurrency} workers, each connection sends 64 B and reads 63 B, ${seconds} s per run\n${table(rows)}\n`
    )
  }
  // Throughput.
  {
    const rows = [
      ['setup', `MB/s (${runs})`, 'runs', 'proxy CPU', 'app CPU', 'client CPU', 'errors'],
    ]
    for (const name of names) {
      const s = samples('throughput', name)
      rows.push([
        name,
        fmt(median(s.map((x) => x.value))),
        s.map((x) => fmt(x.value)).join(' '),
        name === 'direct' ? '—' : pct(median(s.map((x) => x.proxyCpu / x.wall))),
        pct(median(s.map((x) => x.appCpu / x.wall))),
        pct(median(s.map((x) => x.clientCpu))),
        String(s.reduce((sum, x) => sum + x.errors, 0)),
      ])
    }
    console.log(
      `bulk throughput into the app's sink: ${bulkConnections} connections of 64 KiB writes, ${seconds} s per run after 1 s\n${table(rows)}\n`
    )
  }
  // Latency.
  {
    const rows = [
      [
        'setup',
        `p50 ms (${runs})`,
        `p99 ms (${runs})`,
        'p99 runs',
        'p99 from write',
        'proxy CPU',
        'client CPU',
        'unanswered',
        'errors',
      ],
    ]
    for (const name of names) {
      const s = samples('latency', name)
      rows.push([
        name,
        fmt(median(s.map((x) => x.p50 ?? Number.NaN)), 3),
        fmt(median(s.map((x) => x.p99 ?? Number.NaN)), 3),
        s.map((x) => fmt(x.p99, 2)).join(' '),
        fmt(median(s.map((x) => x.serviceP99 ?? Number.NaN)), 3),
        name === 'direct' ? '—' : pct(median(s.map((x) => x.proxyCpu / x.wall))),
        pct(median(s.map((x) => x.clientCpu))),
        String(s.reduce((sum, x) => sum + (x.unanswered ?? 0), 0)),
        String(s.reduce((sum, x) => sum + x.errors, 0)),
      ])
    }
    console.log(
      `latency: ${rate} requests/s of 64 B, open loop over ${latencyConnections} keep-alive connections, ${latencySeconds} s per run after ${LATENCY_WARMUP} s, from each request's scheduled time ('p99 from write': from the moment it was written, without the client's timer lateness)\n${table(rows)}\n`
    )
  }
  // Ratios: the median of each repeat's paired ratio (the two setups ran back to back).
  const paired = (
    metric: Metric,
    a: SetupName,
    b: SetupName,
    f: (x: Sample, y: Sample) => number
  ) => {
    const xs = samples(metric, a)
    const ys = samples(metric, b)
    return median(xs.map((x, i) => f(x, ys[i] as Sample)))
  }
  const errors = [...results.values()].flat().some((s) => s.errors > 0 || (s.unanswered ?? 0) > 0)
  const verdict = (met: boolean) => (met ? 'PASS' : 'MISS')
  let allMet = true
  const lines: string[] = []
  const has = (name: SetupName) => names.includes(name)
  for (const agent of ['meshca-dp', 'meshca-dp-bun'] as const) {
    if (!has(agent)) continue
    let met = true
    if (has('haproxy')) {
      const c = paired('connections', agent, 'haproxy', (x, y) => x.value / y.value)
      const t = paired('throughput', agent, 'haproxy', (x, y) => x.value / y.value)
      lines.push(
        `${agent} / haproxy new connections/s: ${c.toFixed(2)} (target >= ${TARGETS.connections}) ${verdict(c >= TARGETS.connections)}`,
        `${agent} / haproxy throughput:        ${t.toFixed(2)} (target >= ${TARGETS.throughput}) ${verdict(t >= TARGETS.throughput)}`
      )
      met &&= c >= TARGETS.connections && t >= TARGETS.throughput
    }
    if (has('direct')) {
      const added = paired('latency', agent, 'direct', (x, y) => (x.p99 ?? 0) - (y.p99 ?? 0))
      lines.push(
        `${agent} added p99 (p99 − direct p99): ${added.toFixed(3)} ms (target <= ${TARGETS.addedP99Ms} ms) ${verdict(added <= TARGETS.addedP99Ms)}`
      )
      met &&= added <= TARGETS.addedP99Ms
    }
    lines.push(`${agent}: ${met ? 'every target met' : 'some targets missed'}`)
    allMet &&= met
  }
  for (const name of ['haproxy', 'haproxy-mt', 'haproxy-noreuse'] as const) {
    if (!has(name) || !has('direct')) continue
    const added = paired('latency', name, 'direct', (x, y) => (x.p99 ?? 0) - (y.p99 ?? 0))
    lines.push(`${name} added p99 (reference): ${added.toFixed(3)} ms`)
  }
  for (const name of ['haproxy-mt', 'haproxy-noreuse'] as const) {
    if (!has(name) || !has('meshca-dp')) continue
    const c = paired('connections', 'meshca-dp', name, (x, y) => x.value / y.value)
    const t = paired('throughput', 'meshca-dp', name, (x, y) => x.value / y.value)
    lines.push(
      `meshca-dp / ${name} (reference): connections/s ${c.toFixed(2)}, throughput ${t.toFixed(2)}`
    )
  }
  if (has('meshca-dp') && has('haproxy')) {
    const cpu = (name: SetupName) => {
      const s = samples('connections', name)
      return (
        s.reduce((sum, x) => sum + x.proxyCpu, 0) / s.reduce((sum, x) => sum + (x.requests ?? 0), 0)
      )
    }
    lines.push(
      `CPU per new connection, both proxies: meshca-dp ${(cpu('meshca-dp') * 1000).toFixed(3)} ms, haproxy ${(cpu('haproxy') * 1000).toFixed(3)} ms (${(cpu('meshca-dp') / cpu('haproxy')).toFixed(2)}×)`
    )
  }
  console.log(
    `ratios (median of each repeat's paired figures)\n${lines.map((l) => `  ${l}`).join('\n')}`
  )
  if (errors) {
    console.log(
      '\nWARNING: some runs had errors or unanswered requests (see the tables); their figures are suspect.'
    )
    for (const [key, s] of results) {
      for (const x of s) if (x.firstError) console.log(`  ${key}: ${x.firstError}`)
    }
  }
  return allMet
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'meshca-dp-bench-'))
  onCleanup(() => rmSync(dir, { recursive: true, force: true }))
  if (values['cpu-prof']) mkdirSync(resolve(values['cpu-prof']), { recursive: true })
  const certificates = makeCertificates(dir, MESH)
  const haproxy = haproxyVersion()
  console.log(
    `dataplane benchmark: Node ${process.version} (OpenSSL ${process.versions.openssl}), ${availableParallelism()} cores, ${certificates.opensslVersion.split(' (')[0]} CLI; ${quick ? 'quick: ' : ''}${repeats} repeat(s) of ${seconds} s (connections, throughput) and ${latencySeconds} s (latency)`
  )
  console.log(
    `certificates: P-256 CA and leaves web/backend with URI SANs spiffe://${MESH}/<service> + kuma://kuma.io/service/<service>; SNI ${SNI}; TLS as negotiated by default (TLS 1.3)`
  )
  let names = wanted
  if (haproxy === undefined) {
    const banner = '!'.repeat(100)
    console.log(
      `\n${banner}\n!!! HAProxy is NOT installed (apt-get install -y haproxy): no HAProxy figures and no ratios; meshca-dp and direct only\n${banner}\n`
    )
    names = names.filter((n) => !n.startsWith('haproxy'))
  } else {
    console.log(
      `HAProxy ${haproxy}: TCP mode; it cannot check a URI SAN as meshca-dp does: its outbound checks the chain and that the certificate names the SNI it sends (the leaves' CN), its inbound admits any client certificate of the CA`
    )
  }
  const app = await startApp()
  step(`app on 127.0.0.1:${app.port}`)
  const client = await startClient()
  const setups: Setup[] = []
  const failed: string[] = []
  for (const name of names) {
    try {
      if (name === 'direct') {
        setups.push({ name, description: 'client → app, no proxy', port: app.port, processes: [] })
      } else if (name === 'meshca-dp' || name === 'meshca-dp-bun') {
        const runtime = name === 'meshca-dp' ? 'node' : 'bun'
        setups.push(await startMeshcaPair(dir, certificates, app.port, runtime))
      } else {
        setups.push(await startHaproxy(name, dir, certificates, app.port))
      }
    } catch (error) {
      const text = String(error instanceof Error ? error.message : error)
      const notMerged = text.includes('proxy engine not merged yet')
      const what = `${name}: ${notMerged ? 'proxy engine not merged yet' : 'failed to start'}`
      failed.push(what)
      const banner = '!'.repeat(100)
      console.log(
        `\n${banner}\n!!! ${what}\n${text
          .trim()
          .split('\n')
          .map((l) => `!!! ${l}`)
          .join('\n')}\n${banner}\n`
      )
    }
  }
  for (const setup of setups) {
    console.log(`  ${setup.name.padEnd(13)} ${setup.description}; entry 127.0.0.1:${setup.port}`)
  }
  // A first connection through each: a setup that cannot carry one is broken, not slow.
  for (const setup of setups) {
    const r = await runJob(client, {
      kind: 'connections',
      port: setup.port,
      concurrency: 1,
      warmup: 0,
      seconds: 0.2,
    })
    if (r.count === 0) {
      throw new Error(
        `${setup.name}: no connection got its answer (${r.firstError}); ${setup.processes.map(recentOutput).join('\n')}`
      )
    }
  }
  step(`warming up each setup for ${WARMUP} s`)
  for (const setup of setups) {
    await runJob(client, {
      kind: 'connections',
      port: setup.port,
      concurrency,
      warmup: 0,
      seconds: WARMUP / 2,
    })
    await runJob(client, {
      kind: 'bulk',
      port: setup.port,
      concurrency: bulkConnections,
      seconds: WARMUP / 2,
    })
  }
  const results = new Map<string, Sample[]>()
  for (let r = 0; r < repeats; r++) {
    for (const metric of Object.keys(METRICS) as Metric[]) {
      // The order rotates each repeat: a slow spell of the shared machine falls on each in turn.
      const order = setups.map((_, i) => setups[(i + r) % setups.length] as Setup)
      const figures: string[] = []
      for (const setup of order) {
        const sample = await METRICS[metric].measure(client, app.child, setup)
        const key = `${metric}/${setup.name}`
        results.set(key, [...(results.get(key) ?? []), sample])
        figures.push(`${setup.name} ${fmt(sample.value, metric === 'latency' ? 2 : 0)}`)
      }
      step(
        `repeat ${r + 1}/${repeats}, ${METRICS[metric].title}: ${figures.join(', ')} ${METRICS[metric].unit}${metric === 'latency' ? ' p99' : ''}`
      )
    }
  }
  // The repeats run in rotated order; the report lists setups as given.
  const allMet = report(setups, results)
  if (failed.length > 0) {
    for (const what of failed)
      console.log(`\n!!! ${what}: no figures for it, its targets not evaluated`)
    return 1
  }
  console.log(allMet ? '\nall targets met' : '\nsome targets MISSED')
  return 0
}

let code = 1
try {
  code = await main()
} catch (error) {
  console.error(error)
} finally {
  await stopAll()
}
process.exit(code)
