/**
 * What the proxy tests share: certificates made by openssl (an implementation independent of the
 * code under test), tiny applications, clients that collect what they are answered, and
 * `openssl s_client` run without blocking the event loop the proxy runs in.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, connect as netConnect, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tls from 'node:tls'
import type { InboundConfig, InboundPolicy, OutboundConfig } from '@meshca/core-mtls'
import { type OpensslCa, OpensslCaBuilder } from '@meshca/test-support/openssl'
import { Registry } from 'prom-client'
import {
  type IdentityMaterial,
  InboundListener,
  OutboundListener,
  ProxyMetrics,
  TlsIdentity,
} from '../../src/proxy/index.ts'

const KEY = 'ec:P-256' as const
const CA_EXT = [
  'basicConstraints=critical,CA:TRUE',
  'keyUsage=critical,keyCertSign,cRLSign',
  'subjectKeyIdentifier=hash',
  'authorityKeyIdentifier=keyid:always',
]

export interface Leaf {
  readonly chain: string
  readonly key: string
  /** The leaf's serial, as openssl prints it (hex, upper case). */
  readonly serial: string
}

export interface Pki {
  readonly ca: OpensslCa
  readonly otherCa: OpensslCa
  readonly intermediate: OpensslCa
  readonly web: Leaf
  readonly backend: Leaf
  readonly backendV1: Leaf
  readonly backendRenewed: Leaf
  readonly backendFromOtherCa: Leaf
  readonly webFromOtherCa: Leaf
  readonly otherMeshWeb: Leaf
  readonly backendViaIntermediate: Leaf
  readonly dispose: () => void
}

function serialOf(builder: OpensslCaBuilder, pem: string): string {
  builder.write('serial-probe.pem', pem)
  return builder.run(['x509', '-noout', '-serial', '-in', 'serial-probe.pem']).trim().slice(7)
}

export function makePki(): Pki {
  const b = new OpensslCaBuilder()
  const ca = b.root('/O=meshca/CN=default root', { key: KEY, extensions: CA_EXT })
  const otherCa = b.root('/O=other/CN=other root', { key: KEY, extensions: CA_EXT })
  const intermediate = b.signed('/O=meshca/CN=default intermediate', ca, {
    key: KEY,
    extensions: [...CA_EXT.slice(0, 1).map((e) => `${e},pathlen:0`), ...CA_EXT.slice(1)],
  })
  const leaf = (issuer: OpensslCa, uris: readonly string[], chained = false): Leaf => {
    const made = b.signed('leaf', issuer, {
      key: KEY,
      extensions: [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        `subjectAltName=${uris.map((u) => `URI:${u}`).join(',')}`,
      ],
    })
    const chain = chained ? `${made.certPem}${issuer.certPem}` : made.certPem
    return { chain, key: made.keyPem, serial: serialOf(b, made.certPem) }
  }
  const pki: Pki = {
    ca,
    otherCa,
    intermediate,
    web: leaf(ca, ['spiffe://default/web', 'kuma://version/v2']),
    backend: leaf(ca, ['spiffe://default/backend', 'kuma://version/v2']),
    backendV1: leaf(ca, ['spiffe://default/backend', 'kuma://version/v1']),
    backendRenewed: leaf(ca, ['spiffe://default/backend']),
    backendFromOtherCa: leaf(otherCa, ['spiffe://default/backend']),
    webFromOtherCa: leaf(otherCa, ['spiffe://default/web']),
    otherMeshWeb: leaf(ca, ['spiffe://other/web']),
    backendViaIntermediate: leaf(intermediate, ['spiffe://default/backend'], true),
    dispose: () => b.dispose(),
  }
  return pki
}

export function material(
  leaf: Leaf,
  trustBundle: string,
  mode: 'STRICT' | 'PERMISSIVE' = 'STRICT'
): IdentityMaterial {
  return {
    certificateChain: leaf.chain,
    privateKey: leaf.key,
    trustBundle,
    mode,
    backend: 'ca-1',
    expiration: new Date(Date.now() + 86_400_000),
  }
}

export const ALLOW_ALL: InboundPolicy = { permission: 'allow-all-default', principals: [[]] }

export function inboundConfig(servicePort: number, policy: InboundPolicy | null): InboundConfig {
  return {
    address: '127.0.0.1',
    port: 0,
    serviceAddress: '127.0.0.1',
    servicePort,
    tags: { 'kuma.io/service': 'backend' },
    policy,
  }
}

export function outboundConfig(
  endpoints: readonly { port: number }[],
  service = 'backend',
  tlsReady = true
): OutboundConfig {
  return {
    address: '127.0.0.1',
    port: 0,
    service,
    tags: { 'kuma.io/service': service },
    sni: `${service}{mesh=default}`,
    identity: `spiffe://default/${service}`,
    tlsReady,
    endpoints: endpoints.map((e, i) => ({
      address: '127.0.0.1',
      port: e.port,
      dataplane: `dp-${i}`,
      tags: { 'kuma.io/service': service },
    })),
  }
}

/** Closes everything a test opened, in reverse order. */
export class Cleanup {
  readonly #steps: (() => unknown)[] = []
  add<T>(value: T, close: (value: T) => unknown): T {
    this.#steps.push(() => close(value))
    return value
  }
  async run(): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) await step()
  }
}

export interface App {
  readonly server: Server
  readonly port: number
  /** Connections the application accepted. */
  accepted: number
}

/**
 * An application answering `<name>:` and the first bytes it read, then closing (a client that never
 * ends its side, as `openssl s_client`, still gets its answer).
 */
export async function echoApp(name = 'app'): Promise<App> {
  const app = { accepted: 0 } as { accepted: number; server: Server; port: number }
  app.server = createServer({ allowHalfOpen: true }, (socket) => {
    app.accepted += 1
    socket.on('error', () => {})
    socket.once('data', (chunk: Buffer) => socket.end(`${name}:${chunk.toString()}`))
  })
  app.port = await listen(app.server)
  return app
}

/** An application that answers `<name>:` and each chunk it reads, and keeps the connection open. */
export async function chattyApp(name = 'app'): Promise<App> {
  const app = { accepted: 0 } as { accepted: number; server: Server; port: number }
  app.server = createServer({ allowHalfOpen: true }, (socket) => {
    app.accepted += 1
    socket.on('error', () => {})
    socket.on('data', (chunk: Buffer) => socket.write(`${name}:${chunk.toString()}`))
    socket.on('end', () => socket.end())
  })
  app.port = await listen(app.server)
  return app
}

/** An application that is a TLS server itself (app-level TLS), answering `tls-app:` and the data. */
export async function tlsApp(leaf: Leaf): Promise<App> {
  const app = { accepted: 0 } as { accepted: number; server: Server; port: number }
  app.server = tls.createServer({ cert: leaf.chain, key: leaf.key, allowHalfOpen: true }, (s) => {
    app.accepted += 1
    s.on('error', () => {})
    s.once('data', (chunk: Buffer) => s.end(`tls-app:${chunk.toString()}`))
  })
  app.port = await listen(app.server)
  return app
}

export function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port))
  )
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()))
}

export type Outcome = { readonly ok: true; readonly answer: string } | { readonly ok: false }

/** Sends `data`, ends, and collects the answer until the connection closes. */
export function plainRequest(port: number, data: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port, allowHalfOpen: true })
    let answer = ''
    socket.setEncoding('utf8')
    socket.on('connect', () => socket.end(data))
    socket.on('data', (chunk: string) => {
      answer += chunk
    })
    socket.on('error', () => {})
    socket.on('close', () => resolve(answer === '' ? { ok: false } : { ok: true, answer }))
    setTimeout(() => socket.destroy(), 5_000)
  })
}

export interface OpensslClient {
  readonly ok: boolean
  readonly output: string
}

/**
 * `openssl s_client` to `port`, sending `input` then waiting for the server to close; `args` add
 * `-cert`, `-alpn`… (files named in `files`, written to a temporary folder first).
 */
export function sClient(
  port: number,
  args: readonly string[],
  files: Record<string, string>,
  input = 'hello\n',
  waitForClose = true
): Promise<OpensslClient> {
  const dir = mkdtempSync(join(tmpdir(), 'meshca-s-client-'))
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content)
  return new Promise((resolve) => {
    const child = spawn(
      'openssl',
      [
        ...['s_client', '-connect', `127.0.0.1:${port}`, '-showcerts'],
        ...(waitForClose ? ['-ign_eof'] : []),
        ...args,
      ],
      { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] }
    )
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.stdin.on('error', () => {})
    child.stdin.end(input)
    const timer = setTimeout(() => child.kill(), 10_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      rmSync(dir, { recursive: true, force: true })
      resolve({ ok: code === 0, output })
    })
  })
}

/** A metrics registry and what a listener needs besides its configuration. */
export function proxyParts(identity: TlsIdentity) {
  const registry = new Registry()
  const metrics = new ProxyMetrics(registry)
  return { registry, metrics, identity }
}

export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>
): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name)
  const value = metric?.values.find((v) =>
    Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l)
  )
  return value?.value ?? 0
}

export { InboundListener, OutboundListener, TlsIdentity }

/** Polls `read` until it returns `expected` (counters updated on a socket's `close` event). */
export async function eventually<T>(read: () => Promise<T>, expected: T, ms = 2_000): Promise<T> {
  const deadline = Date.now() + ms
  let value = await read()
  while (value !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    value = await read()
  }
  return value
}
