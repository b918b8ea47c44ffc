/**
 * Issue 6, scaled out: two API processes and a standalone rotation daemon (`npm run daemon`) on one
 * PostgreSQL database. A data plane that moves between instances gets a new certificate from the
 * same CA; exactly one daemon leads and another takes over when it is killed; the data planes of a
 * killed instance are marked offline; a Mesh written straight into the database gets its CA.
 */
import { randomBytes, X509Certificate } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  DataplaneAgent,
  verifyIdentity as opensslVerify,
  serialOf,
  until,
} from '@meshca/test-support/dataplanes'
import {
  type ControlPlane,
  meshca,
  removeDir,
  startControlPlane,
  startDaemon,
  tempDir,
} from '@meshca/test-support/processes'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  connectTestPostgres,
  type TestPostgres,
} from '../../packages/store-postgres/test/support/test-postgres.ts'
import { readExample } from '../support/examples.ts'

interface Subscription {
  readonly controlPlaneInstanceId?: string
  readonly connectTime?: string
  readonly disconnectTime?: string
}

interface OverviewItem {
  readonly name: string
  readonly dataplaneInsight: { readonly subscriptions?: Subscription[] }
}

async function metricsOf(process: ControlPlane): Promise<string> {
  const response = await fetch(await process.metricsUrl())
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
  return response.text()
}

/** 1 when the process leads, 0 when it stands by, undefined when it cannot be asked (dead). */
async function leads(process: ControlPlane): Promise<number | undefined> {
  try {
    const match = /^meshca_daemon_leader (\d)$/m.exec(await metricsOf(process))
    return match?.[1] === undefined ? undefined : Number(match[1])
  } catch {
    return undefined
  }
}

describe('two control plane instances and a standalone daemon on one PostgreSQL', () => {
  let pg: TestPostgres
  let database: string
  let args: string[]
  const dirs: string[] = []
  const processes: ControlPlane[] = []
  const agents: DataplaneAgent[] = []
  let a: ControlPlane
  let b: ControlPlane
  /** The e2e database itself, as an operator with psql sees it. */
  let sql: postgres.Sql

  async function start(kind: 'api' | 'daemon'): Promise<ControlPlane> {
    const dataDir = tempDir(kind)
    dirs.push(dataDir)
    const started = await (kind === 'api' ? startControlPlane : startDaemon)({ dataDir, args })
    processes.push(started)
    return started
  }

  async function overview(cp: ControlPlane): Promise<OverviewItem[]> {
    const response = await fetch(`${cp.url}/meshes/default/dataplanes+insights`)
    return ((await response.json()) as { items: OverviewItem[] }).items
  }

  beforeAll(async () => {
    pg = await connectTestPostgres()
    database = `meshca_e2e_${randomBytes(4).toString('hex')}`
    await pg.admin.unsafe(`create database ${database}`)
    const url = new URL(pg.url)
    url.pathname = `/${database}`
    const keyDir = tempDir('key')
    dirs.push(keyDir)
    const keyFile = join(keyDir, 'secret.key')
    writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 })
    // Every instance shares the database and the key that encrypts its Secrets.
    args = [
      ...['--store', 'postgres', '--postgres-url', url.toString()],
      ...['--secret-key-file', keyFile, '--daemon-interval', '500ms'],
    ]
    sql = postgres(url.toString(), { max: 1, onnotice: () => {} })
    a = await start('api')
    b = await start('api')
  })

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.stop()))
    await Promise.all(processes.map((p) => p.stop()))
    await sql?.end()
    await pg?.admin.unsafe(`drop database if exists ${database} with (force)`)
    await pg?.dispose()
    for (const dir of dirs) removeDir(dir)
  })

  async function token(name: string, service: string): Promise<string> {
    const generated = await meshca(a, [
      ...['generate', 'dataplane-token', '--mesh', 'default', '--name', name],
      ...['--tag', `kuma.io/service=${service}`],
    ])
    expect(generated.stderr).toBe('')
    return generated.stdout.trim()
  }

  async function register(name: string, service: string): Promise<void> {
    const applied = await meshca(a, ['apply', '-f', '-'], {
      stdin: `type: Dataplane\nmesh: default\nname: ${name}\nnetworking:\n  address: 127.0.0.1\n  inbound:\n    - port: 8080\n      servicePort: 80\n      tags:\n        kuma.io/service: ${service}\n`,
    })
    expect(applied.stderr).toBe('')
  }

  it('a data plane moving to the other instance gets a new certificate from the same CA', async () => {
    const applied = await meshca(a, ['apply', '-f', '-'], {
      stdin: readExample('builtin.universal.yaml'),
    })
    expect(applied.stderr).toBe('')
    await register('web-1', 'web')
    const webToken = await token('web-1', 'web')
    let target = a
    const agent = new DataplaneAgent({
      baseUrl: () => target.url,
      mesh: 'default',
      name: 'web-1',
      token: webToken,
    }).start()
    agents.push(agent)
    const first = await agent.next(0, 30_000)
    expect(opensslVerify(first.identity)).toBe('leaf.pem: OK\n')

    // The load balancer now sends it to b: the stream on a ends, the data plane reconnects.
    target = b
    const moved = agent.next(agent.received.length, 30_000)
    agent.reconnect()
    const second = await moved

    expect(serialOf(second.identity)).not.toBe(serialOf(first.identity))
    expect(second.identity.trustBundle).toBe(first.identity.trustBundle)
    expect(new X509Certificate(second.identity.certificateChain).issuer).toBe(
      new X509Certificate(first.identity.certificateChain).issuer
    )
    expect(opensslVerify(second.identity, first.identity.trustBundle)).toBe('leaf.pem: OK\n')
    const subscriptions = await until(
      async () =>
        (await overview(b)).find((i) => i.name === 'web-1')?.dataplaneInsight.subscriptions ?? [],
      (s) => s.length >= 2 && s.at(-2)?.disconnectTime !== undefined,
      10_000,
      'the move in the insight'
    )
    expect(subscriptions.at(-1)?.controlPlaneInstanceId).not.toBe(
      subscriptions.at(-2)?.controlPlaneInstanceId
    )
  })

  it('a Mesh written straight into the database gets its CA from the leading daemon', async () => {
    const spec = { mtls: { enabledBackend: 'ca-1', backends: [{ name: 'ca-1', type: 'builtin' }] } }
    await sql`insert into meshca.resources (type, mesh, name, spec) values ('Mesh', '', 'direct', ${JSON.stringify(spec)})`
    const names = await until(
      async () => {
        const response = await fetch(`${b.url}/meshes/direct/secrets`)
        const body = (await response.json()) as { items?: { name: string }[] }
        return (body.items ?? []).map((i) => i.name)
      },
      (found) => found.includes('direct.ca-builtin-cert-ca-1'),
      30_000,
      'the CA of the mesh written into the database'
    )
    expect(names).toEqual(['direct.ca-builtin-cert-ca-1', 'direct.ca-builtin-key-ca-1'])
  })

  it('one daemon leads; killing it hands leadership over; a killed instance’s data planes go offline', async () => {
    const daemon = await start('daemon')
    const everyone = [a, b, daemon]
    const leaders = await until(
      () => Promise.all(everyone.map(leads)),
      (states) =>
        states.filter((s) => s === 1).length === 1 && states.every((s) => s !== undefined),
      30_000,
      'one leader'
    )
    // Standing by for a while: still exactly one.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect(await Promise.all(everyone.map(leads))).toEqual(leaders)

    // A data plane whose instance will die without a word.
    await register('orphan-1', 'orphan')
    const orphan = new DataplaneAgent({
      baseUrl: () => a.url,
      mesh: 'default',
      name: 'orphan-1',
      token: await token('orphan-1', 'orphan'),
    }).start()
    agents.push(orphan)
    await orphan.next(0, 30_000)

    // Kill a (the orphan's instance); if it did not lead, kill the leader too.
    const killed = [a]
    const leader = everyone[leaders.indexOf(1)] as ControlPlane
    if (leader !== a) killed.push(leader)
    const killedAt = Date.now()
    await Promise.all(killed.map((p) => p.kill()))
    const survivors = everyone.filter((p) => !killed.includes(p))
    const after = await until(
      () => Promise.all(survivors.map(leads)),
      (states) => states.filter((s) => s === 1).length === 1,
      30_000,
      'a new leader'
    )
    console.info(
      `leadership moved ${Date.now() - killedAt} ms after the leader was killed (${after.join(',')})`
    )

    // Read from the database: the surviving process may be the daemon, which has no API.
    const offline = await until(
      async () => {
        const [row] = await sql<{ spec: string }[]>`
          select spec from meshca.resources
          where type = 'DataplaneInsight' and mesh = 'default' and name = 'orphan-1'`
        return (
          ((row ? JSON.parse(row.spec) : {}) as { subscriptions?: Subscription[] }).subscriptions ??
          []
        )
      },
      (s) => s.at(-1)?.disconnectTime !== undefined,
      45_000,
      'the orphan marked offline'
    )
    console.info(`orphan marked offline ${Date.now() - killedAt} ms after its instance was killed`)
    expect(offline.at(-1)?.connectTime).toEqual(expect.any(String))
    const text = await metricsOf(survivors[0] as ControlPlane)
    expect(text).toMatch(/^meshca_dataplanes\{mesh="default",status="offline"\} \d+$/m)
  })
})
