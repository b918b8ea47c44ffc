/**
 * `npm run bench:api`: requests/s and p99 for GET and PUT of a resource under 32 concurrent clients
 * (autocannon), next to a bare Hono "hello" route measured in the same run, on PGlite and on
 * PostgreSQL (with and without its read cache). The servers run as child processes so the load
 * generator does not share their event loop. Within a round the bare route and the GET take turns
 * of 2 s, then the PUTs run. Usage: npm run bench:api -- [--seconds 10] [--rounds 3]
 * [--connections 32] [--warmup 3] [--stores pglite,postgres,postgres-cached]
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    'postgres-url': { type: 'string' },
    stores: { type: 'string', default: 'pglite,postgres,postgres-cached' },
  },
})
/** A whole number from an option, or a message naming the option. */
function count(name: string, text: string, min: number): number {
  const value = Number(text)
  if (!/^\d+$/.test(text) || value < min) {
    throw new Error(`--${name} must be a whole number, ${min} or more (got "${text}")`)
  }
  return value
}
const seconds = count('seconds', values.seconds, 1)
const warmupSeconds = count('warmup', values.warmup, 0)
const rounds = count('rounds', values.rounds, 1)
const connections = count('connections', values.connections, 1)
/** `postgres-cached`: PostgreSQL with `--postgres-read-cache 1s` (rows answered from memory). */
const STORES = ['pglite', 'postgres', 'postgres-cached'] as const
const wanted = new Set(values.stores.split(','))
for (const name of wanted) {
  if (!(STORES as readonly string[]).includes(name)) {
    throw new Error(`--stores: unknown store "${name}" (${STORES.join(', ')})`)
  }
}
/** The API's default key pool size, given explicitly so the bench knows when it is full. */
const KEY_POOL = 256
const APP_DIR = fileURLToPath(new URL('..', import.meta.url))
const adminUrl =
  values['postgres-url'] ??
  process.env.PG_CONNECTION_STRING ??
  'postgres://postgres@127.0.0.1:5432/postgres'

/** Resolves with the first match of `pattern` in what `child` prints. */
function waitForOutput(child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  let output = ''
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (process.env.MESHCA_BENCH_DEBUG) process.stderr.write(chunk)
      const match = pattern.exec(output)
      if (match) {
        child.stdout?.off('data', onData)
        child.stderr?.off('data', onData)
        resolve(match)
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${output}`)))
  })
}

async function listen(child: ChildProcess): Promise<string> {
  const match = await waitForOutput(child, /API listening on (http:\/\/\S+)/)
  return match[1] ?? ''
}

/**
 * Waits until the signer's pool holds `keys` RSA keys: until then a worker thread generates keys
 * on one of the two cores, and the numbers would measure that instead of the API.
 */
async function keyPoolFull(metricsUrl: string, keys: number): Promise<void> {
  const deadline = Date.now() + 300_000
  for (;;) {
    const text = await (await fetch(metricsUrl)).text()
    const line = /^meshca_signer_key_pool_keys\{key_type="RSA_2048"\} (\d+)/m.exec(text)
    if (Number(line?.[1] ?? 0) >= keys) return
    if (Date.now() > deadline) throw new Error(`the key pool did not fill: ${line?.[0]}`)
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGINT')
  })
}

const BARE = `
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
const app = new Hono()
app.get('/hello', (c) => c.json({ hello: 'world' }))
serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  console.log('bare API listening on http://127.0.0.1:' + info.port)
})
`

async function run(
  url: string,
  method: 'GET' | 'PUT',
  path: string,
  body?: () => [string, string],
  duration = seconds
) {
  const result = await autocannon({
    url: `${url}${path}`,
    connections,
    duration,
    requests: [
      body
        ? {
            method,
            headers: { 'content-type': 'application/json' },
            // Each PUT writes its own resource: 32 clients updating one resource measure retries.
            setupRequest: (request) => {
              const [target, json] = body()
              return { ...request, path: target, body: json }
            },
          }
        : { method },
    ],
  })
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${method} ${path}: ${result.non2xx} non-2xx, ${result.errors} errors`)
  }
  return { requests: result.requests.total, seconds: result.duration, p99: result.latency.p99 }
}

/** Bare and GET take turns of this many seconds within a round, so both meet the same machine. */
const TURN_SECONDS = 2

/**
 * The bare route and the resource GET, `seconds` each, in alternating turns (who goes first
 * alternates too): a slow spell of the shared machine falls on both instead of on one of them.
 */
async function bareAndGet(bareUrl: string, url: string) {
  const totals = {
    bare: { requests: 0, seconds: 0, p99: [] as number[] },
    get: { requests: 0, seconds: 0, p99: [] as number[] },
  }
  let turn = 0
  for (let left = seconds; left > 0; left -= TURN_SECONDS, turn++) {
    const duration = Math.min(TURN_SECONDS, left)
    const order = turn % 2 === 0 ? (['bare', 'get'] as const) : (['get', 'bare'] as const)
    for (const which of order) {
      const result =
        which === 'bare'
          ? await run(bareUrl, 'GET', '/hello', undefined, duration)
          : await run(url, 'GET', '/meshes/bench', undefined, duration)
      totals[which].requests += result.requests
      totals[which].seconds += result.seconds
      totals[which].p99.push(result.p99)
    }
  }
  const rate = (t: { requests: number; seconds: number; p99: number[] }) => ({
    rps: t.requests / t.seconds,
    p99: median(t.p99),
  })
  return { bare: rate(totals.bare), get: rate(totals.get) }
}

let written = 0
function nextPermission(): [string, string] {
  const name = `bench-${written++}`
  const json = JSON.stringify({
    type: 'TrafficPermission',
    mesh: 'bench',
    name,
    sources: [{ match: { 'kuma.io/service': 'web' } }],
    destinations: [{ match: { 'kuma.io/service': `svc-${name}` } }],
  })
  return [`/meshes/bench/traffic-permissions/${name}`, json]
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2
}

const MESH = JSON.stringify({
  type: 'Mesh',
  name: 'bench',
  mtls: { enabledBackend: 'ca-1', backends: [{ name: 'ca-1', type: 'builtin' }] },
})

async function main() {
  const step = (text: string) => console.error(`[bench] ${text}`)
  const bare = spawn(process.execPath, ['--input-type=module', '-e', BARE], {
    cwd: APP_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const bareUrl = await listen(bare)
  step(`bare route at ${bareUrl}`)
  // Only the PostgreSQL runs need a server; each has a database of the bench's own.
  const databases = new Map<string, string>()
  for (const name of STORES) {
    if (name === 'pglite' || !wanted.has(name)) continue
    const database = `meshca_bench_${randomBytes(4).toString('hex')}`
    execFileSync('psql', [adminUrl, '-qc', `CREATE DATABASE ${database}`])
    step(`database ${database} created for ${name}`)
    databases.set(name, database)
  }
  const postgresArgs = (name: string, ...more: string[]): string[] => {
    const url = new URL(adminUrl)
    url.pathname = `/${databases.get(name) ?? ''}`
    return [
      '--store',
      'postgres',
      '--postgres-url',
      url.toString(),
      ...more,
      '--data-dir',
      join(dataDir, name),
    ]
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'meshca-bench-'))
  const env = {
    ...process.env,
    MESHCA_SECRET_KEY: randomBytes(32).toString('base64'),
    // `info`: the "listening on" line is how the bench learns the port.
    MESHCA_LOG_LEVEL: 'info',
  }
  const stores = (
    [
      ['pglite', ['--store', 'pglite', '--data-dir', join(dataDir, 'pglite')]],
      ['postgres', postgresArgs('postgres')],
      ['postgres-cached', postgresArgs('postgres-cached', '--postgres-read-cache', '1s')],
    ] as const
  ).filter(([name]) => wanted.has(name))
  try {
    for (const [name, args] of stores) {
      const api = spawn(
        process.execPath,
        [
          // For example `--cpu-prof --cpu-prof-dir=DIR`: profile the server under the bench's load.
          ...(process.env.MESHCA_BENCH_SERVER_FLAGS?.split(' ').filter(Boolean) ?? []),
          'dist/entry/node.js',
          '--port',
          '0',
          '--metrics-port',
          '0',
          '--signer-key-pool',
          String(KEY_POOL),
          ...args,
        ],
        {
          cwd: APP_DIR,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        }
      )
      const metrics = waitForOutput(api, /metrics listening on (http:\/\/\S+)/)
      const url = await listen(api)
      step(`${name} API at ${url}`)
      await fetch(`${url}/meshes/bench`, {
        method: 'PUT',
        body: MESH,
        headers: { 'content-type': 'application/json' },
      })
      await keyPoolFull((await metrics)[1] ?? '', KEY_POOL)
      step(`${name}: signer key pool full (${KEY_POOL} keys)`)
      const bareRuns: number[] = []
      const getRuns: number[] = []
      const putRuns: number[] = []
      const ratios: number[] = []
      const p99 = { bare: [] as number[], get: [] as number[], put: [] as number[] }
      // Unmeasured: the first requests of a route run unoptimised code, in both servers.
      if (warmupSeconds > 0) {
        await run(bareUrl, 'GET', '/hello', undefined, warmupSeconds)
        await run(url, 'GET', '/meshes/bench', undefined, warmupSeconds)
        await run(url, 'PUT', '/meshes/bench/traffic-permissions', nextPermission, warmupSeconds)
      }
      for (let r = 0; r < rounds; r++) {
        const { bare: b, get: g } = await bareAndGet(bareUrl, url)
        const put = await run(url, 'PUT', '/meshes/bench/traffic-permissions', nextPermission)
        const p = { rps: put.requests / put.seconds, p99: put.p99 }
        bareRuns.push(b.rps)
        ratios.push(g.rps / b.rps)
        getRuns.push(g.rps)
        putRuns.push(p.rps)
        p99.bare.push(b.p99)
        p99.get.push(g.p99)
        p99.put.push(p.p99)
        step(
          `${name} round ${r + 1}: bare ${b.rps.toFixed(0)}, GET ${g.rps.toFixed(0)} (${(g.rps / b.rps).toFixed(2)}), PUT ${p.rps.toFixed(0)} req/s`
        )
      }
      const bareRps = median(bareRuns)
      console.log(`${name}: bare hello ${bareRps.toFixed(0)} req/s (p99 ${median(p99.bare)} ms)`)
      console.log(
        `${name}: GET /meshes/bench ${median(getRuns).toFixed(0)} req/s (p99 ${median(p99.get)} ms), ratio ${median(ratios).toFixed(2)} (median of the rounds' ratios; target >= 0.50)`
      )
      console.log(
        `${name}: PUT /meshes/bench/traffic-permissions/{new} ${median(putRuns).toFixed(0)} req/s (p99 ${median(p99.put)} ms), ratio ${(median(putRuns) / bareRps).toFixed(2)}`
      )
      await stop(api)
    }
  } finally {
    await stop(bare)
    for (const database of databases.values()) {
      execFileSync('psql', [adminUrl, '-qc', `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`])
    }
    rmSync(dataDir, { recursive: true, force: true })
  }
}

await main()
