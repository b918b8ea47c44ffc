import { X509Certificate } from 'node:crypto'
import { createInlineSigner, isOnline, type Signer } from '@meshca/core-mtls'
import {
  type Identity as IdentityJson,
  identityPath,
  openStream,
  verifyIdentity as verifyStrict,
  until as waitFor,
} from '@meshca/test-support/dataplanes'
import {
  type OpensslCa,
  opensslOk as openssl,
  opensslCsr,
  renewedCa,
  selfSignedCa,
} from '@meshca/test-support/openssl'
import { afterEach, describe, expect, it } from 'vitest'
import { builtinMesh, dpToken, putOk, registered } from './support/dataplane-setup.ts'
import { dataplane } from './support/fixtures.ts'
import { createHarness, errorBody, type Harness, secretBody } from './support/harness.ts'

const WEB = { 'kuma.io/service': ['web'] }
/**
 * What `openssl verify -x509_strict` wants of a root (the brief's recipe leaves CA:TRUE
 * non-critical).
 */
const STRICT_CA = [
  'basicConstraints=critical,CA:TRUE',
  'keyUsage=critical,keyCertSign,cRLSign',
  'subjectKeyIdentifier=hash',
]
const harnesses: Harness[] = []

function harness(options: Parameters<typeof createHarness>[0] = {}): Harness {
  const h = createHarness(options)
  harnesses.push(h)
  return h
}

afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.dataplaneSessions.close()))
})

const serialOf = (identity: IdentityJson) =>
  new X509Certificate(identity.certificateChain).serialNumber
const bundleSize = (identity: IdentityJson) =>
  identity.trustBundle.match(/BEGIN CERTIFICATE/g)?.length ?? 0

async function insight(h: Harness, mesh: string, name: string) {
  return (await h.core.resources.get('DataplaneInsight', mesh, name))?.spec
}

async function webStream(h: Harness, mesh = 'default', options: { expiration?: string } = {}) {
  await putOk(h, `/meshes/${mesh}`, builtinMesh(mesh, options))
  await registered(h, mesh, 'web-1', 'web')
  const token = await dpToken(h, mesh, 'web-1', WEB)
  return { token, ...(await openStream(h, mesh, 'web-1', token)) }
}

describe('GET /meshes/{mesh}/dataplanes/{name}/identity/stream', () => {
  it('sends the current identity at once and records the subscription', async () => {
    const h = harness()
    const { response, events } = await webStream(h)
    expect(response.headers.get('content-type')).toBe('text/event-stream')
    expect(response.headers.get('cache-control')).toBe('no-cache')
    // At once: without it nothing would come for hours (no heartbeat here, a certificate of days).
    // The wait's 10 s are for signing on a loaded machine.
    const first = await events.nextIdentity(10_000)
    expect(first).toMatchObject({ mode: 'STRICT', backend: 'ca-1', supportedBackends: ['ca-1'] })
    expect(first.privateKey).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/)
    expect(verifyStrict(first)).toContain('leaf.pem: OK')
    const spec = await insight(h, 'default', 'web-1')
    expect(spec?.mTLS).toMatchObject({ certificateRegenerations: 1, issuedBackend: 'ca-1' })
    expect(spec?.subscriptions).toEqual([
      {
        id: expect.any(String),
        controlPlaneInstanceId: 'test-instance',
        connectTime: expect.stringMatching(/Z$/),
        status: { lastUpdateTime: expect.any(String), total: { responsesSent: 1 } },
      },
    ])
    expect(spec && isOnline(spec)).toBe(true)
    expect(h.dataplaneSessions.size).toBe(1)
  })

  it('ends the session when the data plane closes the stream (subscription disconnected)', async () => {
    const h = harness()
    const { events } = await webStream(h)
    await events.nextIdentity()
    await events.cancel()
    const spec = await waitFor(
      () => insight(h, 'default', 'web-1'),
      (s) => s?.subscriptions[0]?.disconnectTime !== undefined
    )
    expect(spec && isOnline(spec)).toBe(false)
    expect(h.dataplaneSessions.size).toBe(0)
  })

  it('gives a fresh certificate on every new connection', async () => {
    const h = harness()
    const { token, events } = await webStream(h)
    const first = await events.nextIdentity()
    await events.cancel()
    const again = await openStream(h, 'default', 'web-1', token)
    const second = await again.events.nextIdentity()
    expect(serialOf(second)).not.toBe(serialOf(first))
    expect(second.privateKey).not.toBe(first.privateKey)
    const spec = await waitFor(
      () => insight(h, 'default', 'web-1'),
      (s) => s?.subscriptions[0]?.disconnectTime !== undefined
    )
    expect(spec?.subscriptions).toHaveLength(2)
    expect(spec?.subscriptions[1]?.disconnectTime).toBeUndefined()
    expect(spec?.mTLS?.certificateRegenerations).toBe(2)
  })

  it('pushes a new certificate and key at 4/5 of the lifetime plus jitter', async () => {
    const h = harness()
    const { events } = await webStream(h, 'default', { expiration: '3s' })
    const first = await events.nextIdentity()
    // Due at 4/5 of 3–4 s (NotAfter is rounded up to whole seconds) plus jitter: 20 s leave room
    // for signing on a loaded machine; without rotation nothing would come.
    const second = await events.nextIdentity(20_000)
    const generation = Date.parse(first.generation)
    const lifetime = Date.parse(first.expiration) - generation
    // Started at the rotation instant, never before, and before the old certificate expires (how
    // long the signing then takes depends on the machine's load).
    expect(Date.parse(second.generation)).toBeGreaterThanOrEqual(Date.parse(first.rotateAt))
    expect(Date.parse(second.generation)).toBeLessThan(Date.parse(first.expiration))
    expect(Date.parse(first.rotateAt) - generation).toBeGreaterThanOrEqual(
      Math.floor(lifetime / 5) * 4
    )
    expect(serialOf(second)).not.toBe(serialOf(first))
    expect(second.privateKey).not.toBe(first.privateKey)
    expect(second.trustBundle).toBe(first.trustBundle)
    const spec = await waitFor(
      () => insight(h, 'default', 'web-1'),
      (s) => (s?.mTLS?.certificateRegenerations ?? 0) >= 2
    )
    expect(spec?.mTLS?.lastCertificateRegeneration).toBe(new Date(second.generation).toISOString())
    expect(spec?.subscriptions[0]?.status).toMatchObject({ total: { responsesSent: 2 } })
  })

  it('re-issues every connected data plane on a Mesh mTLS change; the CA switch waits for them', async () => {
    const h = harness()
    await putOk(h, '/meshes/default', builtinMesh('default'))
    const streams = []
    for (const [name, service] of [
      ['web-1', 'web'],
      ['backend-1', 'backend'],
    ] as const) {
      await registered(h, 'default', name, service)
      const token = await dpToken(h, 'default', name, { 'kuma.io/service': [service] })
      const { events } = await openStream(h, 'default', name, token)
      expect((await events.nextIdentity()).supportedBackends).toEqual(['ca-1'])
      streams.push(events)
    }
    // Too early: no data plane has the new root yet.
    const early = await h.put(
      '/meshes/default',
      builtinMesh('default', { backends: ['ca-1', 'ca-2'], enabled: 'ca-2' })
    )
    expect(early.status).toBe(400)
    expect((await errorBody(early)).causes).toEqual([
      {
        field: 'mtls.enabledBackend',
        message:
          'Changing CA when mTLS is enabled is forbidden while data plane proxies do not trust the new CA: 2 online data plane proxies do not list backend "ca-2" in their supported backends yet. Add the backend, wait until every data plane proxy supports it, then switch',
      },
    ])
    await putOk(h, '/meshes/default', builtinMesh('default', { backends: ['ca-1', 'ca-2'] }))
    for (const events of streams) {
      const added = await events.nextIdentity()
      expect(added).toMatchObject({ backend: 'ca-1', supportedBackends: ['ca-1', 'ca-2'] })
      expect(bundleSize(added)).toBe(2)
    }
    await waitFor(
      () => h.core.resources.listAll('DataplaneInsight', 'default'),
      (all) => all.every((i) => i.spec.mTLS?.supportedBackends?.includes('ca-2'))
    )
    await putOk(
      h,
      '/meshes/default',
      builtinMesh('default', { backends: ['ca-1', 'ca-2'], enabled: 'ca-2' })
    )
    for (const events of streams) {
      const switched = await events.nextIdentity()
      expect(switched).toMatchObject({ backend: 'ca-2', supportedBackends: ['ca-1', 'ca-2'] })
      expect(verifyStrict(switched)).toContain('leaf.pem: OK')
    }
    await putOk(h, '/meshes/default', builtinMesh('default', { backends: ['ca-2'] }))
    for (const events of streams) {
      const removed = await events.nextIdentity()
      expect(removed).toMatchObject({ backend: 'ca-2', supportedBackends: ['ca-2'] })
      expect(bundleSize(removed)).toBe(1)
      expect(verifyStrict(removed)).toContain('leaf.pem: OK')
    }
    const insights = await h.core.resources.listAll('DataplaneInsight', 'default')
    expect(insights.map((i) => i.spec.mTLS?.certificateRegenerations)).toEqual([4, 4])
  })

  it('treats a new CA under the enabled backend’s name as a switch, not as an edit', async () => {
    const h = harness()
    const { events } = await webStream(h)
    await events.nextIdentity()
    const other = selfSignedCa('other', STRICT_CA)
    const provided = (allow = '') =>
      h.put(`/meshes/default${allow}`, {
        type: 'Mesh',
        name: 'default',
        mtls: {
          enabledBackend: 'ca-1',
          backends: [
            {
              name: 'ca-1',
              type: 'provided',
              conf: { cert: { inlineString: other.certPem }, key: { inlineString: other.keyPem } },
            },
          ],
        },
      })
    const refused = await provided()
    expect(refused.status).toBe(400)
    expect((await errorBody(refused)).causes).toEqual([
      {
        field: 'mtls.backends[0]',
        message:
          'Replacing the CA of the enabled backend "ca-1" in place is forbidden while data plane proxies use it: 1 online data plane proxy does not trust the new CA yet. Add the new CA as another backend, wait until every data plane proxy supports it, switch enabledBackend to it, then remove "ca-1"',
      },
    ])
    // An edit that keeps the CA (the lifetime of data plane certificates) is no switch.
    await putOk(h, '/meshes/default', builtinMesh('default', { expiration: '2h' }))
    expect((await events.nextIdentity()).backend).toBe('ca-1')
    // Disaster recovery may force it; the data plane then gets the new root at once.
    expect((await provided('?allowUnsafeBackendSwitch=true')).status).toBe(200)
    const forced = await events.nextIdentity()
    expect(new X509Certificate(forced.trustBundle).subject).toBe('CN=other')
    // Another provided root in place of this one is refused the same way.
    const third = selfSignedCa('third', STRICT_CA)
    const again = await h.put('/meshes/default', {
      type: 'Mesh',
      name: 'default',
      mtls: {
        enabledBackend: 'ca-1',
        backends: [
          {
            name: 'ca-1',
            type: 'provided',
            conf: { cert: { inlineString: third.certPem }, key: { inlineString: third.keyPem } },
          },
        ],
      },
    })
    expect(again.status).toBe(400)
    expect((await errorBody(again)).causes?.[0]?.field).toBe('mtls.backends[0]')
  })

  it('reads a manifest applied again with its inline key as no change, and lets it switch', async () => {
    const h = harness()
    const provided = selfSignedCa('provided', STRICT_CA)
    const manifest = (enabled: string) => ({
      type: 'Mesh',
      name: 'default',
      mtls: {
        enabledBackend: enabled,
        backends: [
          { name: 'ca-1', type: 'builtin' },
          {
            name: 'ca-2',
            type: 'provided',
            conf: {
              cert: { inlineString: provided.certPem },
              key: { inlineString: provided.keyPem },
            },
          },
        ],
      },
    })
    await putOk(h, '/meshes/default', manifest('ca-1'))
    await registered(h, 'default', 'web-1', 'web')
    const { events } = await openStream(
      h,
      'default',
      'web-1',
      await dpToken(h, 'default', 'web-1', WEB)
    )
    expect((await events.nextIdentity()).supportedBackends).toEqual(['ca-1', 'ca-2'])
    const before = await h.core.meshes.get('default')
    await putOk(h, '/meshes/default', manifest('ca-1'))
    expect((await h.core.meshes.get('default'))?.spec.mtls).toEqual(before?.spec.mtls)
    // The same CA: no identity is re-issued (the re-issue window is 200 ms here).
    const regenerations = async () =>
      (await h.core.resources.get('DataplaneInsight', 'default', 'web-1'))?.spec.mTLS
        ?.certificateRegenerations
    const issued = await regenerations()
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    expect(await regenerations()).toBe(issued)
    await putOk(h, '/meshes/default', manifest('ca-2'))
    const switched = await events.nextIdentity()
    expect(switched.backend).toBe('ca-2')
    expect(verifyStrict(switched)).toContain('leaf.pem: OK')
  })

  it('does not miss a Mesh change made while the first identity is being signed', async () => {
    const inline = createInlineSigner()
    // Armed before the stream opens: its first signing waits, and says so, until the test lets it
    // go.
    let hold: { started: () => void; released: Promise<void> } | undefined
    const signer: Signer = {
      generateKeyPair: (keyType) => inline.generateKeyPair(keyType),
      close: () => inline.close(),
      issue: async (ca, requests) => {
        const held = hold
        hold = undefined
        if (held) {
          held.started()
          await held.released
        }
        return inline.issue(ca, requests)
      },
    }
    const h = harness({ signer })
    await putOk(h, '/meshes/default', builtinMesh('default'))
    // Another data plane of the mesh, connected: the control plane then logs its handling of the
    // Mesh change, and only after that may the held signing go on.
    await registered(h, 'default', 'backend-1', 'backend')
    const other = await dpToken(h, 'default', 'backend-1', { 'kuma.io/service': ['backend'] })
    await (await openStream(h, 'default', 'backend-1', other)).events.nextIdentity()
    await registered(h, 'default', 'web-1', 'web')
    const token = await dpToken(h, 'default', 'web-1', WEB)
    let release = () => {}
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    const signing = new Promise<void>((started) => {
      hold = { started, released }
    })
    const opening = openStream(h, 'default', 'web-1', token)
    await signing
    // Signed under the old settings, the first identity is stale before it is even sent.
    await putOk(h, '/meshes/default', builtinMesh('default', { backends: ['ca-1', 'ca-2'] }))
    await waitFor(
      async () => h.logged.map((line) => line.message),
      (messages) => messages.includes('reissuing data plane identities'),
      10_000
    )
    release()
    const { events } = await opening
    expect((await events.nextIdentity()).supportedBackends).toEqual(['ca-1'])
    expect((await events.nextIdentity()).supportedBackends).toEqual(['ca-1', 'ca-2'])
  })

  it('follows mTLS being turned on and off', async () => {
    const h = harness()
    await putOk(h, '/meshes/plain', { type: 'Mesh', name: 'plain' })
    await registered(h, 'plain', 'web-1', 'web')
    const token = await dpToken(h, 'plain', 'web-1', WEB)
    const { events } = await openStream(h, 'plain', 'web-1', token)
    expect(await events.nextIdentity()).toEqual({ mode: 'DISABLED' })
    await putOk(h, '/meshes/plain', { ...builtinMesh('plain'), name: 'plain' })
    const on = await events.nextIdentity()
    expect(on.mode).toBe('STRICT')
    expect(new X509Certificate(on.certificateChain).subjectAltName).toContain('spiffe://plain/web')
    await putOk(h, '/meshes/plain', { type: 'Mesh', name: 'plain' })
    expect(await events.nextIdentity()).toEqual({ mode: 'DISABLED' })
    const spec = await waitFor(
      () => insight(h, 'plain', 'web-1'),
      (s) => s?.mTLS === undefined
    )
    expect(spec?.subscriptions[0]?.status).toMatchObject({ total: { responsesSent: 3 } })
  })

  /** A mesh `prov` whose provided CA reads Secret `ca`, and a data plane streaming from it. */
  async function providedStream(h: Harness, ca: OpensslCa) {
    await putOk(h, '/meshes/prov', { type: 'Mesh', name: 'prov' })
    await putOk(h, '/meshes/prov/secrets/ca', secretBody('prov', 'ca', ca.certPem + ca.keyPem))
    await putOk(h, '/meshes/prov', {
      type: 'Mesh',
      name: 'prov',
      mtls: {
        enabledBackend: 'ca-1',
        backends: [
          {
            name: 'ca-1',
            type: 'provided',
            conf: { cert: { secret: 'ca' }, key: { secret: 'ca' } },
          },
        ],
      },
    })
    await registered(h, 'prov', 'web-1', 'web')
    const token = await dpToken(h, 'prov', 'web-1', WEB)
    return (await openStream(h, 'prov', 'web-1', token)).events
  }

  it('re-issues identity and bundle when a provided CA’s Secret is renewed (decision 10 of docs/decisions.md)', async () => {
    const h = harness()
    const first = selfSignedCa('first', STRICT_CA)
    const renewed = renewedCa(first, 'first', STRICT_CA)
    const events = await providedStream(h, first)
    const before = await events.nextIdentity()
    expect(new X509Certificate(before.trustBundle).raw).toEqual(
      new X509Certificate(first.certPem).raw
    )
    await putOk(
      h,
      '/meshes/prov/secrets/ca',
      secretBody('prov', 'ca', renewed.certPem + renewed.keyPem)
    )
    const after = await events.nextIdentity()
    const bundle = new X509Certificate(after.trustBundle)
    expect(bundle.raw).toEqual(new X509Certificate(renewed.certPem).raw)
    expect(bundle.validTo).not.toBe(new X509Certificate(first.certPem).validTo)
    expect(verifyStrict(after)).toContain('leaf.pem: OK')
    // Peers that still hold the old certificate of the same root accept the new leaves too.
    expect(verifyStrict(after, first.certPem)).toContain('leaf.pem: OK')
  })

  it('refuses a Secret change that puts another root under the enabled backend while data planes stream', async () => {
    const h = harness()
    const first = selfSignedCa('first', STRICT_CA)
    const second = selfSignedCa('second', STRICT_CA)
    const events = await providedStream(h, first)
    await events.nextIdentity()
    const response = await h.put(
      '/meshes/prov/secrets/ca',
      secretBody('prov', 'ca', second.certPem + second.keyPem)
    )
    expect(response.status).toBe(400)
    expect((await errorBody(response)).causes).toEqual([
      {
        field: 'data',
        message:
          'Replacing the CA of the enabled backend "ca-1" in place is forbidden while data plane proxies use it: 1 online data plane proxy does not trust the new CA yet. Add the new CA as another backend, wait until every data plane proxy supports it, switch enabledBackend to it, then remove "ca-1"',
      },
    ])
    const kept = await h.core.secrets.get('prov', 'ca')
    expect(Buffer.from(kept?.data ?? []).toString()).toBe(first.certPem + first.keyPem)
  })

  it('follows its Dataplane: new SANs when its tags change, the end when it is deleted', async () => {
    const h = harness()
    const { events } = await webStream(h)
    await events.nextIdentity()
    await putOk(
      h,
      '/meshes/default/dataplanes/web-1',
      dataplane('default', 'web-1', { 'kuma.io/service': 'web', version: 'v2' })
    )
    const retagged = await events.nextIdentity()
    expect(new X509Certificate(retagged.certificateChain).subjectAltName).toBe(
      'URI:spiffe://default/web, URI:kuma://kuma.io/service/web, URI:kuma://version/v2'
    )
    // Tags the token does not allow end the stream with Kuma's reason.
    await putOk(
      h,
      '/meshes/default/dataplanes/web-1',
      dataplane('default', 'web-1', { 'kuma.io/service': 'db' })
    )
    const refused = await events.next()
    expect(refused?.event).toBe('error')
    expect(JSON.parse(refused?.data ?? '{}')).toEqual({
      title: 'Could not issue a data plane identity',
      details:
        'dataplane contains tag "kuma.io/service" with value "db" which is not allowed with this token. Allowed values in token are ["web"]',
    })
    expect(await events.next()).toBeUndefined()

    const token = await dpToken(h, 'default', 'web-1', {})
    const reopened = await openStream(h, 'default', 'web-1', token)
    await reopened.events.nextIdentity()
    expect((await h.del('/meshes/default/dataplanes/web-1')).status).toBe(200)
    const deleted = await reopened.events.next()
    expect(JSON.parse(deleted?.data ?? '{}').details).toBe('the Dataplane "web-1" was deleted')
    expect(await reopened.events.next()).toBeUndefined()
    expect(h.dataplaneSessions.size).toBe(0)
  })

  it('sends heartbeats as SSE comments', async () => {
    const h = harness({ heartbeatIntervalMs: 100 })
    const { events } = await webStream(h)
    await events.nextIdentity()
    // About 20 heartbeats in 2 s; 2 suffice even when a loaded machine runs the timers late.
    await expect(events.next(2_000)).rejects.toThrow(/no event/)
    expect(events.comments.length).toBeGreaterThanOrEqual(2)
    expect(events.comments[0]).toBe('heartbeat')
  })

  it('certifies the key of the CSR in the x-meshca-csr header', async () => {
    const h = harness()
    await putOk(h, '/meshes/default', builtinMesh('default'))
    await registered(h, 'default', 'web-1', 'web')
    const token = await dpToken(h, 'default', 'web-1', WEB)
    const request = opensslCsr(['ec', '-pkeyopt', 'ec_paramgen_curve:P-256'])
    const { events } = await openStream(h, 'default', 'web-1', token, {
      'x-meshca-csr': Buffer.from(request.csr).toString('base64'),
    })
    const identity = await events.nextIdentity()
    expect('privateKey' in identity).toBe(false)
    const publicKey = openssl(['pkey', '-pubout', '-in', 'k.pem'], { 'k.pem': request.key })
    expect(
      new X509Certificate(identity.certificateChain).publicKey.export({
        type: 'spki',
        format: 'pem',
      })
    ).toBe(publicKey)
    const bad = await h.request('GET', `${identityPath('default', 'web-1')}/stream`, {
      token,
      headers: { 'x-meshca-csr': 'not base64!' },
    })
    expect(bad.status).toBe(400)
    expect((await errorBody(bad)).causes?.[0]?.field).toBe('csr')
  })

  it('authenticates like POST and needs a registered data plane', async () => {
    const h = harness()
    await putOk(h, '/meshes/default', builtinMesh('default'))
    await registered(h, 'default', 'web-1', 'web')
    const token = await dpToken(h, 'default', 'web-1', WEB)
    const path = (name: string) => `${identityPath('default', name)}/stream`
    expect((await h.request('GET', path('web-1'))).status).toBe(401)
    const other = await h.request('GET', path('web-2'), { token })
    expect(other.status).toBe(403)
    expect((await errorBody(other)).details).toBe(
      'proxy name from requestor: web-2 is different than in token: web-1'
    )
    const anyName = await dpToken(h, 'default', '', WEB)
    expect((await h.request('GET', path('web-9'), { token: anyName })).status).toBe(404)
    expect(h.dataplaneSessions.size).toBe(0)
  })

  it('ends every stream on shutdown, marking the data planes offline', async () => {
    const h = harness()
    const { events } = await webStream(h)
    await events.nextIdentity()
    await h.dataplaneSessions.close()
    expect(await events.next()).toBeUndefined()
    const spec = await insight(h, 'default', 'web-1')
    expect(spec && isOnline(spec)).toBe(false)
    const refused = await h.request('GET', `${identityPath('default', 'web-1')}/stream`, {
      token: await dpToken(h, 'default', 'web-1', WEB),
    })
    expect(refused.status).toBe(503)
  })
})
