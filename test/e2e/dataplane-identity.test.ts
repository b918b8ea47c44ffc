/**
 * Issue 6 end to end: data planes (plain HTTP clients holding the identity stream, node:tls for
 * their traffic) against the real control plane process on PGlite, configured with the real CLI.
 * Certificates live 10 s for the rotation test, then a minute: a 10 s certificate is renewed in its
 * last 1.5–2 s, and the handshakes of the later tests must not depend on a loaded machine's control
 * plane being that quick.
 */
import { X509Certificate } from 'node:crypto'
import {
  DataplaneAgent,
  handshake,
  type Identity,
  MtlsServer,
  verifyIdentity as opensslVerify,
  postIdentity,
  serialOf,
  until,
} from '@meshca/test-support/dataplanes'
import { certificatesIn } from '@meshca/test-support/openssl'
import {
  type ControlPlane,
  meshca,
  removeDir,
  startControlPlane,
  tempDir,
} from '@meshca/test-support/processes'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readExample } from '../support/examples.ts'

const WEB_SPIFFE = 'spiffe://default/web'
const BACKEND_SPIFFE = 'spiffe://default/backend'

/** The brief's builtin example with `dpCert.rotation.expiration: 10s`. */
const BUILTIN_10S = readExample('builtin.universal.yaml').replace(
  /expiration: 1d\b/,
  'expiration: 10s'
)

/** The builtin example with certificates of a minute, for every test after the rotation one. */
function meshYaml(backends: readonly string[], enabled: string): string {
  const items = backends.map(
    (b) =>
      `    - name: ${b}\n      type: builtin\n      dpCert:\n        rotation:\n          expiration: 1m\n      conf:\n        caCert:\n          RSAbits: 2048\n          expiration: 10y\n`
  )
  return `type: Mesh\nname: default\nmtls:\n  enabledBackend: ${enabled}\n  backends:\n${items.join('')}`
}

function dataplaneBody(mesh: string, name: string, service: string) {
  return {
    type: 'Dataplane',
    mesh,
    name,
    networking: {
      address: '127.0.0.1',
      inbound: [{ port: 8080, servicePort: 80, tags: { 'kuma.io/service': service } }],
    },
  }
}

interface InsightMtls {
  readonly certificateRegenerations?: number
  readonly issuedBackend?: string
  readonly supportedBackends?: string[]
}

interface OverviewItem {
  readonly name: string
  readonly dataplaneInsight: {
    readonly mTLS?: InsightMtls
    readonly subscriptions?: { connectTime?: string; disconnectTime?: string }[]
  }
}

describe('data plane identities with real processes', () => {
  let dataDir: string
  let cp: ControlPlane
  const tokens = new Map<string, string>()
  let web: DataplaneAgent
  let backend: DataplaneAgent
  let server: MtlsServer
  let serverPort: number

  beforeAll(async () => {
    dataDir = tempDir('dp')
    cp = await startControlPlane({ dataDir })
  })

  afterAll(async () => {
    await Promise.all([web?.stop(), backend?.stop(), server?.close()])
    expect(await cp?.stop()).toBe(0)
    removeDir(dataDir)
  })

  async function generateToken(mesh: string, name: string, service: string): Promise<string> {
    const generated = await meshca(cp, [
      'generate',
      'dataplane-token',
      '--mesh',
      mesh,
      '--name',
      name,
      '--tag',
      `kuma.io/service=${service}`,
    ])
    expect(generated.stderr).toBe('')
    expect(generated.code).toBe(0)
    return generated.stdout.trim()
  }

  async function apply(yaml: string) {
    return meshca(cp, ['apply', '-f', '-'], { stdin: yaml })
  }

  /** `meshca inspect dataplanes -o json`, the user's view of the insights. */
  async function inspect(): Promise<OverviewItem[]> {
    const result = await meshca(cp, ['inspect', 'dataplanes', '-o', 'json'])
    expect(result.code).toBe(0)
    return (JSON.parse(result.stdout) as { items: OverviewItem[] }).items
  }

  /** The overview over plain HTTP: cheaper than the CLI for polling. */
  async function overview(): Promise<OverviewItem[]> {
    const response = await fetch(`${cp.url}/meshes/default/dataplanes+insights`)
    return ((await response.json()) as { items: OverviewItem[] }).items
  }

  const mtlsOf = (items: OverviewItem[], name: string) =>
    items.find((i) => i.name === name)?.dataplaneInsight.mTLS

  it('streams an identity that openssl accepts, with the service’s SPIFFE id', async () => {
    const applied = await apply(BUILTIN_10S)
    expect(applied.stderr).toBe('')
    expect(applied.code).toBe(0)
    for (const [name, service] of [
      ['web-1', 'web'],
      ['backend-1', 'backend'],
    ] as const) {
      tokens.set(name, await generateToken('default', name, service))
    }
    // web-1 registers itself with its token (Universal); backend-1 is registered by the operator.
    const registered = await postIdentity(cp.url, 'default', 'web-1', tokens.get('web-1') ?? '', {
      dataplane: dataplaneBody('default', 'web-1', 'web'),
    })
    expect(registered.status).toBe(200)
    const backendYaml = `type: Dataplane\nmesh: default\nname: backend-1\nnetworking:\n  address: 127.0.0.1\n  inbound:\n  - port: 9090\n    tags:\n      kuma.io/service: backend\n`
    expect((await apply(backendYaml)).code).toBe(0)

    const opened = Date.now()
    web = new DataplaneAgent({
      baseUrl: () => cp.url,
      mesh: 'default',
      name: 'web-1',
      token: tokens.get('web-1') ?? '',
    }).start()
    // Expected within milliseconds; the rest is room for a loaded machine.
    const first = await web.next(0, 15_000)
    console.info(`first identity ${first.at - opened} ms after opening the stream`)
    expect(first.identity).toMatchObject({
      mode: 'STRICT',
      backend: 'ca-1',
      supportedBackends: ['ca-1'],
    })
    expect(opensslVerify(first.identity)).toBe('leaf.pem: OK\n')
    const leaf = new X509Certificate(first.identity.certificateChain)
    expect(leaf.subjectAltName?.split(', ')[0]).toBe(`URI:${WEB_SPIFFE}`)
    // Empty subject, as Kuma's leaves (the SAN carries the identity).
    expect(leaf.subject ?? '').toBe('')
    const lifetime = Date.parse(first.identity.expiration) - Date.parse(first.identity.generation)
    // NotAfter has whole seconds and is rounded up: at least the configured 10 s, under 11 s.
    expect(lifetime).toBeGreaterThanOrEqual(10_000)
    expect(lifetime).toBeLessThan(11_000)
  })

  it('pushes a new certificate and key after 4/5 of the lifetime plus jitter, and counts it', async () => {
    const first = web.received[0]
    if (first === undefined) throw new Error('no first identity')
    const before = mtlsOf(await inspect(), 'web-1')?.certificateRegenerations ?? 0
    // POST (registration) and the stream's first identity.
    expect(before).toBe(2)
    const generation = Date.parse(first.identity.generation)
    const lifetime = Date.parse(first.identity.expiration) - generation
    const rotateAfterMs = Date.parse(first.identity.rotateAt) - generation
    // Due after 8–9.35 s; the rest of the wait is room for a loaded machine.
    const second = await web.next(1, 30_000)
    console.info(
      `rotation: next identity ${second.at - generation} ms after the first was generated (rotateAt at ${rotateAfterMs} ms, lifetime ${lifetime} ms)`
    )
    // 4/5 of a lifetime of 10–11 s (NotAfter rounded up to whole seconds), plus up to 5 % jitter:
    // the "after 8–9 s". Pushed at that instant, never before, and before the old
    // certificate expires (at least 1.5 s later): how soon within that is the machine's load.
    expect(rotateAfterMs).toBeGreaterThanOrEqual(Math.floor(lifetime / 5) * 4)
    expect(rotateAfterMs).toBeLessThanOrEqual(0.85 * lifetime)
    expect(second.at).toBeGreaterThanOrEqual(Date.parse(first.identity.rotateAt))
    expect(second.at).toBeLessThan(Date.parse(first.identity.expiration))
    expect(serialOf(second.identity)).not.toBe(serialOf(first.identity))
    expect(second.identity.privateKey).not.toBe(first.identity.privateKey)
    const keyOf = (identity: Identity) =>
      new X509Certificate(identity.certificateChain).publicKey.export({
        type: 'spki',
        format: 'der',
      })
    expect(keyOf(second.identity).equals(keyOf(first.identity))).toBe(false)
    expect(opensslVerify(second.identity)).toBe('leaf.pem: OK\n')
    const counted = await until(
      inspect,
      (items) => (mtlsOf(items, 'web-1')?.certificateRegenerations ?? 0) > before,
      20_000,
      'certificateRegenerations'
    )
    expect(mtlsOf(counted, 'web-1')).toMatchObject({
      certificateRegenerations: before + 1,
      issuedBackend: 'ca-1',
      supportedBackends: ['ca-1'],
    })
    const table = await meshca(cp, ['inspect', 'dataplanes'])
    const row = table.stdout.split('\n').find((line) => line.startsWith('default   web-1'))
    expect(row?.split(/ {3,}/).slice(3, 4)).toEqual(['Online'])
    // Read later than the insight above: a certificate of this lifetime may have rotated again.
    expect(Number(row?.split(/ {3,}/)[10])).toBeGreaterThanOrEqual(before + 1)
  })

  it('completes mTLS handshakes between two data planes, and refuses another mesh’s certificate', async () => {
    const lifetimeOf = (identity: Identity) =>
      Date.parse(identity.expiration) - Date.parse(identity.generation)
    expect((await apply(meshYaml(['ca-1'], 'ca-1'))).code).toBe(0)
    await web.next(0, 20_000, (identity) => lifetimeOf(identity) >= 60_000)
    backend = new DataplaneAgent({
      baseUrl: () => cp.url,
      mesh: 'default',
      name: 'backend-1',
      token: tokens.get('backend-1') ?? '',
    }).start()
    const client = (await backend.next(0, 15_000)).identity
    server = new MtlsServer(web.current as Identity)
    serverPort = await server.listen()
    const result = await handshake(serverPort, client, WEB_SPIFFE)
    expect(result).toEqual({ ok: true, serverSans: expect.arrayContaining([WEB_SPIFFE]) })
    expect(server.peers.at(-1)).toContain(BACKEND_SPIFFE)

    const other = `type: Mesh\nname: other\nmtls:\n  enabledBackend: ca-1\n  backends:\n    - name: ca-1\n      type: builtin\n`
    expect((await apply(other)).code).toBe(0)
    const intruderToken = await generateToken('other', 'backend-1', 'backend')
    const response = await postIdentity(cp.url, 'other', 'backend-1', intruderToken, {
      dataplane: dataplaneBody('other', 'backend-1', 'backend'),
    })
    expect(response.status).toBe(200)
    const intruder = (await response.json()) as Identity
    expect(new X509Certificate(intruder.certificateChain).subjectAltName).toContain(
      'URI:spiffe://other/backend'
    )
    // It trusts the server (default's bundle), but the server does not trust its CA.
    server.update(web.current as Identity)
    const refused = await handshake(
      serverPort,
      intruder,
      WEB_SPIFFE,
      (web.current as Identity).trustBundle
    )
    console.info(
      `handshake with another mesh's certificate: ${JSON.stringify(refused)}; server: ${JSON.stringify(server.clientErrors)}`
    )
    expect(refused.ok).toBe(false)
    // OpenSSL finds no issuer for it among the mesh's roots.
    expect(server.clientErrors).toHaveLength(1)
    expect(server.clientErrors[0]).toMatch(/^UNABLE_TO_(VERIFY_LEAF_SIGNATURE|GET_ISSUER_CERT)/)
    expect(() => opensslVerify(intruder, (web.current as Identity).trustBundle)).toThrow()
  })

  it('after a control plane restart on the same data directory, data planes reconnect to new certificates from the same CA', async () => {
    const port = new URL(cp.url).port
    const before = { web: web.received.length, backend: backend.received.length }
    const old = web.current as Identity
    const connections = web.connections
    expect(await cp.stop()).toBe(0)
    const stopped = Date.now()
    cp = await startControlPlane({ dataDir, args: ['--port', port] })
    const renewed = await web.next(before.web, 20_000)
    console.info(`restart: new identity ${renewed.at - stopped} ms after the old process exited`)
    expect(web.connections).toBe(connections + 1)
    expect(serialOf(renewed.identity)).not.toBe(serialOf(old))
    expect(renewed.identity.trustBundle).toBe(old.trustBundle)
    expect(new X509Certificate(renewed.identity.certificateChain).issuer).toBe(
      new X509Certificate(old.certificateChain).issuer
    )
    // Verified against the bundle received before the restart: the CA did not change.
    expect(opensslVerify(renewed.identity, old.trustBundle)).toBe('leaf.pem: OK\n')
    await backend.next(before.backend, 20_000)
    const items = await overview()
    const subscriptions = items.find((i) => i.name === 'web-1')?.dataplaneInsight.subscriptions
    expect(subscriptions?.at(-2)?.disconnectTime).toEqual(expect.any(String))
    expect(subscriptions?.at(-1)?.disconnectTime).toBeUndefined()
  })

  it('switches CA (add, wait, switch, remove) without a single failed handshake', async () => {
    let stop = false
    let attempts = 0
    let serverIdentityCount = -1
    const failures: string[] = []
    const serverErrorsBefore = server.clientErrors.length
    const loop = (async () => {
      while (!stop) {
        // Like Envoy's SDS: new handshakes use the newest identity each side received.
        if (web.received.length !== serverIdentityCount) {
          serverIdentityCount = web.received.length
          server.update(web.current as Identity)
        }
        const result = await handshake(serverPort, backend.current as Identity, WEB_SPIFFE)
        attempts++
        if (!result.ok) failures.push(`${new Date().toISOString()} ${result.error}`)
        await new Promise((resolve) => setTimeout(resolve, 40))
      }
    })()
    const started = Date.now()
    const step = (name: string) => console.info(`CA switch: ${name} at +${Date.now() - started} ms`)
    // Every stage of the switch sees handshakes, however slowly a loaded machine makes them.
    const moreHandshakes = (stage: string) => {
      const target = attempts + 3
      return until(
        async () => attempts,
        (n) => n >= target,
        15_000,
        `handshakes ${stage}`
      )
    }
    await moreHandshakes('before the switch')

    // Switching before the data planes trust ca-2 is refused, with the count.
    const early = await apply(meshYaml(['ca-1', 'ca-2'], 'ca-2'))
    expect(early.code).toBe(1)
    expect(early.stderr).toContain(
      'mtls.enabledBackend: Changing CA when mTLS is enabled is forbidden while data plane proxies do not trust the new CA: 2 online data plane proxies do not list backend "ca-2" in their supported backends yet'
    )
    step('early switch refused')

    expect((await apply(meshYaml(['ca-1', 'ca-2'], 'ca-1'))).code).toBe(0)
    step('ca-2 added')
    await until(
      overview,
      (items) =>
        ['web-1', 'backend-1'].every((n) => mtlsOf(items, n)?.supportedBackends?.includes('ca-2')),
      15_000,
      'every data plane supports ca-2'
    )
    step('every data plane supports ca-2')
    expect(certificatesIn((web.current as Identity).trustBundle)).toHaveLength(2)
    await moreHandshakes('with both roots trusted')

    const switched = await apply(meshYaml(['ca-1', 'ca-2'], 'ca-2'))
    expect(switched.stderr).toBe('')
    expect(switched.code).toBe(0)
    step('switched to ca-2')
    await until(
      overview,
      (items) => ['web-1', 'backend-1'].every((n) => mtlsOf(items, n)?.issuedBackend === 'ca-2'),
      15_000,
      'every data plane holds a ca-2 certificate'
    )
    await until(
      async () => [web.current?.backend, backend.current?.backend, serverIdentityCount],
      ([w, b, count]) => w === 'ca-2' && b === 'ca-2' && count === web.received.length,
      5_000,
      'the data planes use their ca-2 certificates'
    )
    step('every data plane holds a ca-2 certificate')
    await moreHandshakes('with ca-2 certificates')

    expect((await apply(meshYaml(['ca-2'], 'ca-2'))).code).toBe(0)
    step('ca-1 removed')
    await until(
      overview,
      (items) =>
        ['web-1', 'backend-1'].every(
          (n) => mtlsOf(items, n)?.supportedBackends?.join(',') === 'ca-2'
        ),
      15_000,
      'every data plane trusts ca-2 only'
    )
    await until(
      async () => [web.current, backend.current],
      (identities) => identities.every((i) => i && certificatesIn(i.trustBundle).length === 1),
      5_000,
      'the data planes hold the ca-2 bundle'
    )
    step('every data plane trusts ca-2 only')
    await moreHandshakes('with ca-2 trusted only')
    stop = true
    await loop
    console.info(`CA switch: ${attempts} handshakes, ${failures.length} failed`)
    expect(failures).toEqual([])
    expect(server.clientErrors.slice(serverErrorsBefore)).toEqual([])
    const final = web.current as Identity
    expect(final.supportedBackends).toEqual(['ca-2'])
    expect(opensslVerify(final)).toBe('leaf.pem: OK\n')
    expect(
      web.errors.filter((e) => !e.startsWith('stream answered') && !/ECONNREFUSED/.test(e))
    ).toEqual([])
  })
})
