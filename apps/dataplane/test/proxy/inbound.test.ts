/**
 * Inbound listeners with real sockets and handshakes: `openssl s_client` as the outside client, an
 * echo server as the application, certificates made by openssl.
 */
import { connect as netConnect } from 'node:net'
import * as tls from 'node:tls'
import type { InboundPolicy } from '@meshca/core-mtls'
import { certificatesIn, verifyStrict } from '@meshca/test-support/openssl'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  ALLOW_ALL,
  type App,
  Cleanup,
  chattyApp,
  closeServer,
  echoApp,
  eventually,
  InboundListener,
  inboundConfig,
  makePki,
  material,
  metricValue,
  type Pki,
  plainRequest,
  proxyParts,
  sClient,
  TlsIdentity,
  tlsApp,
} from './support.ts'

let pki: Pki
const cleanup = new Cleanup()

beforeAll(() => {
  pki = makePki()
})
afterAll(() => pki.dispose())
afterEach(() => cleanup.run())

async function inbound(
  mode: 'STRICT' | 'PERMISSIVE' | 'off',
  policy: InboundPolicy | null = ALLOW_ALL,
  leaf = pki.backend,
  makeApp: () => Promise<App> = echoApp
): Promise<{
  listener: InboundListener
  app: App
  parts: ReturnType<typeof proxyParts>
  config: ReturnType<typeof inboundConfig>
}> {
  const app = cleanup.add(await makeApp(), (a) => closeServer(a.server))
  const identity = new TlsIdentity(
    mode === 'off' ? undefined : material(leaf, pki.ca.certPem, mode)
  )
  const parts = proxyParts(identity)
  const config = inboundConfig(app.port, policy)
  const listener = await InboundListener.listen({ ...parts, config })
  cleanup.add(listener, (l) => l.close())
  return { listener, app, parts, config }
}

/** The files and flags of `openssl s_client` presenting `leaf` and trusting the mesh's CA. */
function clientWith(leaf: { chain: string; key: string } | undefined, alpn = true) {
  const files: Record<string, string> = { 'ca.pem': pki.ca.certPem }
  const args = ['-CAfile', 'ca.pem', '-verify_return_error', ...(alpn ? ['-alpn', 'kuma'] : [])]
  if (leaf !== undefined) {
    files['cert.pem'] = leaf.chain
    files['key.pem'] = leaf.key
    args.push('-cert', 'cert.pem', '-key', 'key.pem')
  }
  return { files, args }
}

async function mtls(port: number, leaf: { chain: string; key: string } | undefined, alpn = true) {
  const { files, args } = clientWith(leaf, alpn)
  return sClient(port, args, files)
}

/** A node:tls client presenting `leaf`: resolves with the answer, or `undefined` when refused. */
function nodeMtls(port: number, leaf = pki.web, data = 'ping'): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      cert: leaf.chain,
      key: leaf.key,
      ca: pki.ca.certPem,
      ALPNProtocols: ['kuma'],
      checkServerIdentity: () => undefined,
    })
    let answer = ''
    socket.on('secureConnect', () => socket.end(data))
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString()
    })
    socket.on('error', () => {})
    socket.on('close', () => resolve(answer === '' ? undefined : answer))
  })
}

describe('a STRICT inbound', () => {
  it('refuses a client without a certificate', async () => {
    const { listener, app, parts } = await inbound('STRICT')
    const result = await mtls(listener.port, undefined)
    expect(result.output).not.toContain('app:hello')
    expect(app.accepted).toBe(0)
    expect(
      await metricValue(parts.registry, 'meshca_dp_tls_handshake_failures_total', {
        reason: 'no_client_certificate',
      })
    ).toBe(1)
  })

  it('refuses a certificate of another CA and one of another mesh', async () => {
    const { listener, app, parts } = await inbound('STRICT')
    expect((await mtls(listener.port, pki.webFromOtherCa)).output).not.toContain('app:hello')
    expect((await mtls(listener.port, pki.otherMeshWeb)).output).not.toContain('app:hello')
    expect(app.accepted).toBe(0)
    const failures = (reason: string) =>
      metricValue(parts.registry, 'meshca_dp_tls_handshake_failures_total', { reason })
    expect(await failures('untrusted_certificate')).toBe(1)
    expect(await failures('other_mesh')).toBe(1)
  })

  it('serves a client of the mesh offering ALPN kuma, with a chain openssl verifies', async () => {
    const { listener, parts } = await inbound('STRICT', ALLOW_ALL, pki.backendViaIntermediate)
    const { files, args } = clientWith(pki.web)
    // The client trusts only the root: the intermediate must come from the served chain.
    const result = await sClient(listener.port, args, files)
    expect(result.output).toContain('app:hello')
    expect(result.output).toContain('ALPN protocol: kuma')
    const served = certificatesIn(result.output)
    expect(served).toHaveLength(2)
    expect(verifyStrict(pki.ca.certPem, served.join('')).ok).toBe(true)
    expect(
      await metricValue(parts.registry, 'meshca_dp_rbac_allowed_total', {
        permission: 'allow-all-default',
      })
    ).toBe(1)
    const sent = () =>
      metricValue(parts.registry, 'meshca_dp_bytes_total', { flow: 'downstream_tx' })
    expect(await eventually(sent, 'app:hello\n'.length)).toBe('app:hello\n'.length)
  })

  it('serves a client offering no ALPN, and one offering other protocols only', async () => {
    const { listener } = await inbound('STRICT')
    expect((await mtls(listener.port, pki.web, false)).output).toContain('app:hello')
    const { files, args } = clientWith(pki.web, false)
    const h2 = await sClient(listener.port, [...args, '-alpn', 'h2'], files)
    expect(h2.output).toContain('app:hello')
    expect(h2.output).toContain('No ALPN negotiated')
  })

  it('refuses plaintext', async () => {
    const { listener, app, parts } = await inbound('STRICT')
    expect(await plainRequest(listener.port, 'GET / HTTP/1.0\r\n\r\n')).toEqual({ ok: false })
    expect(app.accepted).toBe(0)
    expect(
      await metricValue(parts.registry, 'meshca_dp_tls_handshake_failures_total', {
        reason: 'not_tls',
      })
    ).toBe(1)
  })

  it('closes a connection that sends nothing after the first-bytes timeout', async () => {
    const app = cleanup.add(await echoApp(), (a) => closeServer(a.server))
    const identity = new TlsIdentity(material(pki.backend, pki.ca.certPem))
    const listener = await InboundListener.listen({
      ...proxyParts(identity),
      config: inboundConfig(app.port, ALLOW_ALL),
      timeouts: { firstBytesMs: 200, handshakeMs: 200 },
    })
    cleanup.add(listener, (l) => l.close())
    const started = Date.now()
    await new Promise<void>((resolve) => {
      const socket = netConnect({ host: '127.0.0.1', port: listener.port })
      // A TLS record header announcing more than is ever sent.
      socket.on('connect', () => socket.write(Buffer.from([0x16, 3, 1, 0, 200, 1])))
      socket.on('error', () => {})
      socket.on('close', () => resolve())
    })
    expect(Date.now() - started).toBeLessThan(3_000)
  })
})

describe('a PERMISSIVE inbound', () => {
  it('passes plaintext to the application', async () => {
    const { listener } = await inbound('PERMISSIVE')
    expect(await plainRequest(listener.port, 'plain')).toEqual({ ok: true, answer: 'app:plain' })
  })

  it('terminates mTLS for a client offering ALPN kuma', async () => {
    const { listener } = await inbound('PERMISSIVE')
    expect(await nodeMtls(listener.port)).toBe('app:ping')
  })

  it('passes other TLS to the application untouched', async () => {
    const app = cleanup.add(await tlsApp(pki.backendFromOtherCa), (a) => closeServer(a.server))
    const identity = new TlsIdentity(material(pki.backend, pki.ca.certPem, 'PERMISSIVE'))
    const listener = await InboundListener.listen({
      ...proxyParts(identity),
      config: inboundConfig(app.port, null),
    })
    cleanup.add(listener, (l) => l.close())
    // The client sees the application's certificate (another CA), not the agent's.
    const files = { 'app-ca.pem': pki.otherCa.certPem }
    const result = await sClient(
      listener.port,
      ['-CAfile', 'app-ca.pem', '-verify_return_error', '-alpn', 'h2,http/1.1'],
      files
    )
    expect(result.output).toContain('tls-app:hello')
    expect(result.output).toContain('Verify return code: 0 (ok)')
    expect(app.accepted).toBe(1)
  })
})

describe('an inbound with mTLS off', () => {
  it('passes TCP through without RBAC', async () => {
    const { listener } = await inbound('off', null)
    expect(await plainRequest(listener.port, 'x')).toEqual({ ok: true, answer: 'app:x' })
  })
})

/** A node:tls connection kept open: each `answer` sends and reads one echo; `closed` settles on close. */
function openMtls(port: number, leaf: { chain: string; key: string }) {
  const socket = tls.connect({
    host: '127.0.0.1',
    port,
    cert: leaf.chain,
    key: leaf.key,
    ca: pki.ca.certPem,
    ALPNProtocols: ['kuma'],
    checkServerIdentity: () => undefined,
  })
  socket.on('error', () => {})
  const closed = new Promise<boolean>((resolve) => socket.once('close', () => resolve(true)))
  const answer = (data: string) =>
    new Promise<string>((resolve) => {
      socket.once('data', (chunk: Buffer) => resolve(chunk.toString()))
      socket.write(data)
    })
  return { socket, closed, answer }
}

describe('RBAC', () => {
  const web = 'spiffe://default/web'

  it('allows a listed service and denies others', async () => {
    const policy = { permission: 'web-only', principals: [[web]] }
    const { listener, parts } = await inbound('STRICT', policy)
    expect(await nodeMtls(listener.port, pki.web)).toBe('app:ping')
    expect(await nodeMtls(listener.port, pki.backend)).toBeUndefined()
    const count = (name: string) => metricValue(parts.registry, name, { permission: 'web-only' })
    expect(await count('meshca_dp_rbac_allowed_total')).toBe(1)
    expect(await count('meshca_dp_rbac_denied_total')).toBe(1)
  })

  it('denies everything without a permission', async () => {
    const { listener, app, parts } = await inbound('STRICT', null)
    expect(await nodeMtls(listener.port, pki.web)).toBeUndefined()
    expect(app.accepted).toBe(0)
    expect(
      await metricValue(parts.registry, 'meshca_dp_rbac_denied_total', { permission: 'none' })
    ).toBe(1)
  })

  it('matches tag principals (kuma://) ANDed with the service', async () => {
    const policy = {
      permission: 'v1',
      principals: [['spiffe://default/backend', 'kuma://version/v1']],
    }
    const { listener } = await inbound('STRICT', policy)
    expect(await nodeMtls(listener.port, pki.backendV1)).toBe('app:ping')
    expect(await nodeMtls(listener.port, pki.backend)).toBeUndefined()
  })

  it('closes an open connection whose permission is revoked, keeps the allowed ones', async () => {
    const policy = { permission: 'both', principals: [[web], ['spiffe://default/backend']] }
    const { listener, config } = await inbound('STRICT', policy, pki.backend, chattyApp)
    const [fromWeb, fromBackend] = [
      openMtls(listener.port, pki.web),
      openMtls(listener.port, pki.backend),
    ]
    expect(await fromWeb.answer('a')).toBe('app:a')
    expect(await fromBackend.answer('b')).toBe('app:b')
    listener.update({ ...config, policy: { permission: 'web-only', principals: [[web]] } })
    expect(await fromBackend.closed).toBe(true)
    expect(await fromWeb.answer('c')).toBe('app:c')
    fromWeb.socket.destroy()
  })

  it('closes plaintext connections once the mode turns STRICT', async () => {
    const { listener, parts } = await inbound('PERMISSIVE', ALLOW_ALL, pki.backend, chattyApp)
    const plain = netConnect(listener.port, '127.0.0.1')
    plain.on('error', () => {})
    const closed = new Promise<boolean>((resolve) => plain.once('close', () => resolve(true)))
    await new Promise((resolve) => plain.once('connect', resolve))
    plain.write('hello')
    await new Promise((resolve) => plain.once('data', resolve))
    parts.identity.update(material(pki.backend, pki.ca.certPem, 'STRICT'))
    listener.reconcile()
    expect(await closed).toBe(true)
  })

  it('applies an updated policy to the next connection', async () => {
    const { listener, config } = await inbound('STRICT', null)
    expect(await nodeMtls(listener.port, pki.web)).toBeUndefined()
    listener.update({ ...config, policy: { permission: 'p', principals: [[web]] } })
    expect(await nodeMtls(listener.port, pki.web)).toBe('app:ping')
  })
})
