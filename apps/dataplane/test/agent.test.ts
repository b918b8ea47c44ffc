/**
 * The agent as users run it: a control plane process (PGlite), two `meshca-dp run` processes for
 * `web` and `backend`, tiny HTTP applications behind them, and openssl as the outside client.
 */
import { X509Certificate } from 'node:crypto'
import {
  CA_EXTENSIONS,
  intermediateCa,
  selfSignedCa,
  verifyLeaves,
} from '@meshca/test-support/openssl'
import { describe, expect, it } from 'vitest'
import { agentStatus, builtinMesh, MESH, metrics, sample, useWorld } from './support/agent-world.ts'
import { dataplaneJson, freePort, get, until } from './support/mesh-world.ts'
import { sClient, servedChain } from './support/s-client.ts'

const world = useWorld()

describe('meshca-dp run', () => {
  it("carries web's requests to backend over mTLS, ready and online with its certificate", async () => {
    const { agents, api, ports } = world()
    expect(await get(ports.webOutbound)).toBe('backend')
    expect((await fetch(`${agents.web.adminUrl}/ready`)).status).toBe(200)
    const inbound = await metrics(agents.backend)
    expect(
      sample(inbound, 'meshca_dp_rbac_allowed_total', 'permission="allow-all-default"')
    ).toBeGreaterThan(0)
    expect(inbound).toContain('meshca_dp_certificate_expiration_timestamp_seconds')
    const overview = await api.get<{
      dataplaneInsight: {
        subscriptions: { disconnectTime?: string }[]
        mTLS: { issuedBackend: string }
      }
    }>(`/meshes/${MESH}/dataplanes+insights/backend-1`)
    expect(overview.dataplaneInsight.subscriptions.at(-1)?.disconnectTime).toBeUndefined()
    expect(overview.dataplaneInsight.mTLS.issuedBackend).toBe('ca-1')
  })

  it('STRICT: refuses no certificate, another CA, another mesh; serves the mesh with a chain that verifies', async () => {
    const { api, ports } = world()
    const tester = await api.identity(MESH, 'tester-1', 'tester', 1)
    const trusted = { ca: tester.trustBundle, alpn: 'kuma' }
    const ok = await sClient(ports.backendInbound, {
      ...trusted,
      cert: tester.certificateChain,
      key: tester.privateKey,
    })
    expect(ok.stdout).toContain('backend')
    expect(ok.stdout).toContain('Verify return code: 0 (ok)')
    const [leaf] = servedChain(ok.stdout)
    expect(verifyLeaves(tester.trustBundle, [new X509Certificate(leaf ?? '').raw])).toEqual([])
    expect(new X509Certificate(leaf ?? '').subjectAltName).toContain('URI:spiffe://default/backend')

    const none = await sClient(ports.backendInbound, trusted)
    expect(none.stdout).not.toContain('backend\n')
    expect(none.stdout + none.stderr).toMatch(/certificate required|alert|unexpected eof|errno/i)

    // A client certificate with the right SAN from a CA the mesh does not trust.
    const foreign = selfSignedCa('/CN=foreign', CA_EXTENSIONS)
    const foreignLeaf = intermediateCa(foreign, '/CN=web', [
      'subjectAltName=URI:spiffe://default/web',
      'extendedKeyUsage=clientAuth,serverAuth',
    ])
    const other = await sClient(ports.backendInbound, {
      ...trusted,
      cert: foreignLeaf.certPem,
      key: foreignLeaf.keyPem,
    })
    expect(other.stdout).not.toContain('backend\n')

    await api.put('/meshes/other', { type: 'Mesh', name: 'other', mtls: builtinMesh().mtls })
    const stranger = await api.identity('other', 'web-9', 'web', 1)
    const fromOtherMesh = await sClient(ports.backendInbound, {
      ...trusted,
      cert: stranger.certificateChain,
      key: stranger.privateKey,
    })
    expect(fromOtherMesh.stdout).not.toContain('backend\n')
    await api.del('/meshes/other/dataplanes/web-9')
    await api.del('/meshes/other')
  })

  it('STRICT refuses a plaintext client', async () => {
    expect(await get(world().ports.backendInbound)).toMatch(/^ERR /)
  })

  it('enforces TrafficPermissions: a specific allow, tags, no match, each applied live', async () => {
    const { api, ports, agents } = world()
    const tester = await api.identity(MESH, 'tester-1', 'tester', 1)
    const asTester = () =>
      sClient(ports.backendInbound, {
        ca: tester.trustBundle,
        alpn: 'kuma',
        cert: tester.certificateChain,
        key: tester.privateKey,
      })
    const allowed = async () => (await asTester()).stdout.includes('backend')
    const tp = (name: string, source: Record<string, string>, destination: string) => ({
      type: 'TrafficPermission',
      mesh: MESH,
      name,
      sources: [{ match: source }],
      destinations: [{ match: { 'kuma.io/service': destination } }],
    })
    expect(await allowed()).toBe(true)
    // More specific than allow-all for backend: only web may call it.
    await api.put(
      `/meshes/${MESH}/traffic-permissions/web-to-backend`,
      tp('web-to-backend', { 'kuma.io/service': 'web' }, 'backend')
    )
    await until(allowed, (yes) => !yes, 5_000)
    expect(await get(ports.webOutbound)).toBe('backend')
    const denied = await metrics(agents.backend)
    expect(
      sample(denied, 'meshca_dp_rbac_denied_total', 'permission="web-to-backend"')
    ).toBeGreaterThan(0)
    // A tag selector: any service with version v1 (web has it, the tester's certificate does too).
    await api.put(
      `/meshes/${MESH}/traffic-permissions/web-to-backend`,
      tp('web-to-backend', { 'kuma.io/service': '*', version: 'v2' }, 'backend')
    )
    await until(
      () => get(ports.webOutbound),
      (body) => body !== 'backend',
      5_000
    )
    await api.put(
      `/meshes/${MESH}/traffic-permissions/web-to-backend`,
      tp('web-to-backend', { 'kuma.io/service': '*', version: 'v1' }, 'backend')
    )
    await until(
      () => get(ports.webOutbound),
      (body) => body === 'backend',
      5_000
    )
    // No permission matches backend at all: deny.
    await api.del(`/meshes/${MESH}/traffic-permissions/web-to-backend`)
    await api.del(`/meshes/${MESH}/traffic-permissions/allow-all-${MESH}`)
    await until(
      () => get(ports.webOutbound),
      (body) => body !== 'backend',
      5_000
    )
    expect(
      sample(await metrics(agents.backend), 'meshca_dp_rbac_denied_total', 'permission="none"')
    ).toBeGreaterThan(0)
    await api.put(
      `/meshes/${MESH}/traffic-permissions/allow-all-${MESH}`,
      tp(`allow-all-${MESH}`, { 'kuma.io/service': '*' }, '*')
    )
    await until(
      () => get(ports.webOutbound),
      (body) => body === 'backend',
      5_000
    )
  })

  it('refuses an upstream whose certificate names another service', async () => {
    const { api, ports, agents } = world()
    // An impostor registers as backend but serves the certificate of `tester`.
    const tester = await api.identity(MESH, 'tester-1', 'tester', 1)
    const tls = await import('node:tls')
    const impostorPort = await freePort()
    const impostor = tls.createServer(
      { cert: tester.certificateChain, key: tester.privateKey, ALPNProtocols: ['kuma'] },
      (socket) => socket.end('HTTP/1.0 200 OK\r\n\r\nimpostor')
    )
    await new Promise<void>((resolve) => impostor.listen(impostorPort, '127.0.0.1', resolve))
    const token = await api.dataplaneToken(MESH, 'impostor-1', 'backend')
    const registered = await fetch(`${api.url}/meshes/${MESH}/dataplanes/impostor-1/identity`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        dataplane: dataplaneJson(MESH, 'impostor-1', 'backend', impostorPort, 1),
      }),
    })
    expect(registered.status).toBe(200)
    const stream = await fetch(`${api.url}/meshes/${MESH}/dataplanes/impostor-1/identity/stream`, {
      headers: { authorization: `Bearer ${token}` },
    })
    try {
      const endpoints = async () =>
        (await agentStatus(agents.web)).config?.outbounds[0]?.endpoints.length ?? 0
      await until(endpoints, (n) => n === 2, 10_000)
      const answers: string[] = []
      for (let i = 0; i < 8; i++) answers.push(await get(ports.webOutbound))
      expect(answers).not.toContain('impostor')
      const text = await metrics(agents.web)
      expect(
        sample(text, 'meshca_dp_tls_handshake_failures_total', 'reason="wrong_identity"')
      ).toBeGreaterThan(0)
    } finally {
      await stream.body?.cancel()
      impostor.close()
      await api.del(`/meshes/${MESH}/dataplanes/impostor-1`)
    }
  })

  it('PERMISSIVE serves a plaintext client; STRICT again refuses it', async () => {
    const { api, ports } = world()
    await api.put(`/meshes/${MESH}`, builtinMesh({ mode: 'PERMISSIVE' }))
    await until(
      () => get(ports.backendInbound),
      (body) => body === 'backend',
      15_000
    )
    expect(await get(ports.webOutbound)).toBe('backend')
    await api.put(`/meshes/${MESH}`, builtinMesh())
    await until(
      () => get(ports.backendInbound),
      (body) => body.startsWith('ERR'),
      15_000
    )
    expect(await get(ports.webOutbound)).toBe('backend')
  })
})
