import { openStream, SseReader } from '@meshca/test-support/dataplanes'
import { afterEach, describe, expect, it } from 'vitest'
import { builtinMesh, dpToken, putOk } from './support/dataplane-setup.ts'
import { createHarness, type Harness } from './support/harness.ts'

const harnesses: Harness[] = []
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.dataplaneSessions.close()))
})

function harness(offlineGraceMs = 0): Harness {
  const h = createHarness({ offlineGraceMs })
  harnesses.push(h)
  return h
}

function dataplane(name: string, service: string, address: string, outbound: unknown[] = []) {
  return {
    type: 'Dataplane',
    mesh: 'default',
    name,
    networking: {
      address,
      inbound: [
        { port: 8080, servicePort: 80, tags: { 'kuma.io/service': service, version: 'v1' } },
      ],
      outbound,
    },
  }
}

interface Config {
  version: string
  mtls: unknown
  inbounds: { policy: { permission: string; principals: string[][] } | null }[]
  outbounds: {
    service: string
    tlsReady: boolean
    endpoints: { dataplane: string; address: string }[]
  }[]
}

async function configStream(h: Harness, name: string, token: string) {
  const response = await h.get(`/meshes/default/dataplanes/${name}/config/stream`, { token })
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toBe('text/event-stream')
  return new SseReader(response)
}

async function nextConfig(events: SseReader, timeoutMs = 5_000): Promise<Config> {
  const event = await events.next(timeoutMs)
  if (event?.event !== 'config') throw new Error(`expected a config, got ${JSON.stringify(event)}`)
  return JSON.parse(event.data) as Config
}

/** Reads configurations until one satisfies `ok`; each must arrive within `timeoutMs`. */
async function configWhere(events: SseReader, ok: (c: Config) => boolean, timeoutMs = 3_000) {
  for (;;) {
    const config = await nextConfig(events, timeoutMs)
    if (ok(config)) return config
  }
}

async function meshWithWebAndBackend(h: Harness) {
  await putOk(h, '/meshes/default', builtinMesh('default'))
  await putOk(
    h,
    '/meshes/default/dataplanes/web-1',
    dataplane('web-1', 'web', '10.0.0.1', [{ port: 10001, tags: { 'kuma.io/service': 'backend' } }])
  )
  await putOk(
    h,
    '/meshes/default/dataplanes/backend-1',
    dataplane('backend-1', 'backend', '10.0.0.2')
  )
  const webToken = await dpToken(h, 'default', 'web-1', { 'kuma.io/service': ['web'] })
  const backendToken = await dpToken(h, 'default', 'backend-1', { 'kuma.io/service': ['backend'] })
  return { webToken, backendToken }
}

describe('GET /meshes/{mesh}/dataplanes/{name}/config', () => {
  it('needs the data plane own token', async () => {
    const h = harness()
    const { webToken } = await meshWithWebAndBackend(h)
    expect((await h.get('/meshes/default/dataplanes/web-1/config')).status).toBe(401)
    const other = await h.get('/meshes/default/dataplanes/backend-1/config', { token: webToken })
    expect(other.status).toBe(403)
    expect(await other.json()).toMatchObject({
      details: 'proxy name from requestor: backend-1 is different than in token: web-1',
    })
    const token = await dpToken(h, 'default', 'nobody')
    expect((await h.get('/meshes/default/dataplanes/nobody/config', { token })).status).toBe(404)
    expect(
      (await h.get('/meshes/default/dataplanes/web-1/config', { token: webToken })).status
    ).toBe(200)
  })

  it('answers the mTLS state, the inbound policy and online endpoints only', async () => {
    const h = harness()
    const { webToken, backendToken } = await meshWithWebAndBackend(h)
    const before = (await (
      await h.get('/meshes/default/dataplanes/web-1/config', { token: webToken })
    ).json()) as Config
    expect(before.mtls).toEqual({ enabled: true, backend: 'ca-1', mode: 'STRICT' })
    expect(before.inbounds[0]?.policy).toEqual({
      permission: 'allow-all-default',
      principals: [[]],
    })
    expect(before.outbounds[0]).toMatchObject({
      service: 'backend',
      endpoints: [],
      tlsReady: false,
    })
    const backend = await openStream(h, 'default', 'backend-1', backendToken)
    await backend.events.nextIdentity()
    const after = (await (
      await h.get('/meshes/default/dataplanes/web-1/config', { token: webToken })
    ).json()) as Config
    expect(after.outbounds[0]).toMatchObject({
      tlsReady: true,
      endpoints: [{ dataplane: 'backend-1', address: '10.0.0.2', port: 8080 }],
    })
    expect(after.version).not.toBe(before.version)
    await backend.events.cancel()
  })
})

describe('GET /meshes/{mesh}/dataplanes/{name}/config/stream', () => {
  it('pushes a data plane going online and offline, a TrafficPermission and a mesh change', async () => {
    const h = harness()
    const { webToken, backendToken } = await meshWithWebAndBackend(h)
    const events = await configStream(h, 'web-1', webToken)
    expect((await nextConfig(events)).outbounds[0]?.endpoints).toEqual([])

    const backend = await openStream(h, 'default', 'backend-1', backendToken)
    await backend.events.nextIdentity()
    // The documented bound is 1 s after the write; 3 s leaves room for a loaded machine.
    await configWhere(events, (c) => c.outbounds[0]?.endpoints.length === 1)

    await putOk(h, '/meshes/default/traffic-permissions/only-db', {
      type: 'TrafficPermission',
      mesh: 'default',
      name: 'only-db',
      sources: [{ match: { 'kuma.io/service': 'db', version: 'v2' } }],
      destinations: [{ match: { 'kuma.io/service': 'web' } }],
    })
    const denied = await configWhere(events, (c) => c.inbounds[0]?.policy?.permission === 'only-db')
    expect(denied.inbounds[0]?.policy?.principals).toEqual([
      ['spiffe://default/db', 'kuma://version/v2'],
    ])

    const mesh = builtinMesh('default')
    await putOk(h, '/meshes/default', {
      ...mesh,
      mtls: { ...mesh.mtls, backends: [{ name: 'ca-1', type: 'builtin', mode: 'PERMISSIVE' }] },
    })
    await configWhere(events, (c) => JSON.stringify(c.mtls).includes('PERMISSIVE'))

    await backend.events.cancel()
    await configWhere(events, (c) => c.outbounds[0]?.endpoints.length === 0)
    await events.cancel()
  })

  it('keeps a data plane among endpoints for the offline grace', async () => {
    const h = harness(1_500)
    const { webToken, backendToken } = await meshWithWebAndBackend(h)
    const backend = await openStream(h, 'default', 'backend-1', backendToken)
    await backend.events.nextIdentity()
    const events = await configStream(h, 'web-1', webToken)
    expect((await nextConfig(events)).outbounds[0]?.endpoints).toHaveLength(1)
    const disconnected = Date.now()
    await backend.events.cancel()
    await configWhere(events, (c) => c.outbounds[0]?.endpoints.length === 0, 5_000)
    expect(Date.now() - disconnected).toBeGreaterThanOrEqual(1_400)
    await events.cancel()
  })

  it('ends with an error event when the Dataplane is deleted', async () => {
    const h = harness()
    const { webToken } = await meshWithWebAndBackend(h)
    const events = await configStream(h, 'web-1', webToken)
    await nextConfig(events)
    expect((await h.del('/meshes/default/dataplanes/web-1')).status).toBe(200)
    const last = await events.next(3_000)
    expect(last?.event).toBe('error')
    expect(JSON.parse(last?.data ?? '{}')).toMatchObject({
      details: 'the Dataplane "web-1" was deleted',
    })
    expect(await events.next(3_000)).toBeUndefined()
    expect(h.dataplaneSessions.configs.size).toBe(0)
  })

  it('ends every stream when the control plane closes', async () => {
    const h = harness()
    const { webToken } = await meshWithWebAndBackend(h)
    const events = await configStream(h, 'web-1', webToken)
    await nextConfig(events)
    await h.dataplaneSessions.close()
    expect(await events.next(3_000)).toBeUndefined()
  })
})
