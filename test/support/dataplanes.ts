/**
 * A data plane as the data plane API sees one, without Envoy: a plain HTTP client that holds the
 * identity stream open (reconnecting when it ends, as a data plane does after a control plane
 * restart), and node:tls endpoints that use the identities it receives, as Envoy's SDS would.
 */
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { type IncomingMessage, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import * as tls from 'node:tls'
import { removeDir, tempDir } from './processes.ts'

export interface Identity {
  readonly mode: string
  readonly certificateChain: string
  readonly privateKey?: string
  readonly trustBundle: string
  readonly backend: string
  readonly supportedBackends: string[]
  readonly generation: string
  readonly expiration: string
  readonly rotateAt: string
}

export interface Received {
  readonly identity: Identity
  /** `Date.now()` when the event was read off the socket. */
  readonly at: number
}

export function serialOf(identity: Identity): string {
  return new X509Certificate(identity.certificateChain).serialNumber
}

export function certificatesIn(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n?/g) ?? []
}

export async function postIdentity(
  baseUrl: string,
  mesh: string,
  name: string,
  token: string,
  body?: unknown
): Promise<Response> {
  return fetch(`${baseUrl}/meshes/${mesh}/dataplanes/${name}/identity`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
}

/**
 * One data plane holding `GET …/identity/stream` open with node:http, parsing the SSE by hand. When
 * the stream ends or cannot be opened, it tries again every `retryMs` against `baseUrl()`.
 */
export class DataplaneAgent {
  readonly received: Received[] = []
  readonly errors: string[] = []
  connections = 0
  #stopped = false
  #response: IncomingMessage | undefined
  #waiters = new Set<() => void>()
  #loop: Promise<void> | undefined

  readonly baseUrl: () => string
  readonly mesh: string
  readonly name: string
  readonly token: string
  readonly retryMs: number

  constructor(options: {
    baseUrl: () => string
    mesh: string
    name: string
    token: string
    retryMs?: number
  }) {
    this.baseUrl = options.baseUrl
    this.mesh = options.mesh
    this.name = options.name
    this.token = options.token
    this.retryMs = options.retryMs ?? 250
  }

  get current(): Identity | undefined {
    return this.received.at(-1)?.identity
  }

  start(): this {
    this.#loop = this.#run()
    return this
  }

  /** The first identity received after the `after`-th one that satisfies `accept`. */
  async next(
    after: number,
    timeoutMs: number,
    accept: (identity: Identity) => boolean = () => true
  ): Promise<Received> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.received.slice(after).find((r) => accept(r.identity))
      if (found !== undefined) return found
      const remaining = deadline - Date.now()
      if (remaining <= 0) {
        throw new Error(
          `${this.name}: no matching identity in ${timeoutMs} ms (${this.received.length} received, errors: ${this.errors.join('; ')})`
        )
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining)
        this.#waiters.add(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** Drops the open stream, as a restarted data plane would; the loop connects again. */
  reconnect(): void {
    this.#response?.destroy()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.#response?.destroy()
    await this.#loop
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        await this.#streamOnce()
      } catch (error) {
        this.errors.push(error instanceof Error ? error.message : String(error))
      }
      if (!this.#stopped) await new Promise((resolve) => setTimeout(resolve, this.retryMs))
    }
  }

  #streamOnce(): Promise<void> {
    const url = new URL(
      `${this.baseUrl()}/meshes/${this.mesh}/dataplanes/${this.name}/identity/stream`
    )
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        { headers: { authorization: `Bearer ${this.token}`, accept: 'text/event-stream' } },
        (response) => {
          if (response.statusCode !== 200) {
            response.resume()
            reject(new Error(`stream answered ${response.statusCode}`))
            return
          }
          this.connections++
          this.#response = response
          let buffer = ''
          response.setEncoding('utf8')
          response.on('data', (chunk: string) => {
            buffer += chunk
            for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
              this.#onBlock(buffer.slice(0, end))
              buffer = buffer.slice(end + 2)
            }
          })
          response.on('end', () => resolve())
          response.on('error', () => resolve())
          response.on('close', () => resolve())
        }
      )
      req.on('error', reject)
      req.end()
    })
  }

  #onBlock(block: string): void {
    let event = 'message'
    const data: string[] = []
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice(7)
      else if (line.startsWith('data: ')) data.push(line.slice(6))
    }
    if (event === 'identity') {
      this.received.push({ identity: JSON.parse(data.join('\n')) as Identity, at: Date.now() })
    } else if (event === 'error') {
      this.errors.push(data.join('\n'))
    }
    for (const wake of this.#waiters) wake()
    this.#waiters.clear()
  }
}

function tlsOptions(identity: Identity) {
  return { key: identity.privateKey, cert: identity.certificateChain, ca: identity.trustBundle }
}

function uriSans(certificate: tls.PeerCertificate | undefined): string[] {
  return (certificate?.subjectaltname ?? '')
    .split(', ')
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4))
}

/**
 * An inbound listener of a data plane in STRICT mode: it requires a client certificate that chains
 * to its trust bundle (else it records why and drops the connection), then answers `ok` and closes. `update` swaps the identity for new handshakes.
 */
export class MtlsServer {
  readonly peers: string[][] = []
  readonly clientErrors: string[] = []
  readonly #server: tls.Server

  constructor(identity: Identity) {
    // The client certificate is checked here rather than by `rejectUnauthorized`, which drops the
    // connection without saying why: the test wants the reason.
    this.#server = tls.createServer(
      { ...tlsOptions(identity), requestCert: true, rejectUnauthorized: false },
      (socket) => {
        if (!socket.authorized) {
          this.clientErrors.push(String(socket.authorizationError ?? 'no client certificate'))
          socket.destroy()
          return
        }
        this.peers.push(uriSans(socket.getPeerCertificate()))
        socket.end('ok')
      }
    )
    this.#server.on('tlsClientError', (error) => {
      this.clientErrors.push(error.message)
    })
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve))
    return (this.#server.address() as AddressInfo).port
  }

  update(identity: Identity): void {
    this.#server.setSecureContext(tlsOptions(identity))
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()))
  }
}

export type HandshakeResult =
  | { readonly ok: true; readonly serverSans: string[] }
  | { readonly ok: false; readonly error: string }

/**
 * An outbound connection of a data plane: verifies the server against its bundle and the expected
 * SPIFFE id (Envoy's SAN matcher), presents its own certificate, and succeeds when the server,
 * having accepted that certificate, says `ok`.
 */
export function handshake(
  port: number,
  client: Identity,
  expectedServer: string,
  trustBundle = client.trustBundle
): Promise<HandshakeResult> {
  return new Promise((resolve) => {
    let settled = false
    const finish = (result: HandshakeResult) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve(result)
    }
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ...tlsOptions(client),
      ca: trustBundle,
      checkServerIdentity: (_host, certificate) =>
        uriSans(certificate).includes(expectedServer)
          ? undefined
          : new Error(`the server is not ${expectedServer}`),
    })
    const timer = setTimeout(() => finish({ ok: false, error: 'timeout' }), 5_000)
    let answer = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      answer += chunk
      if (answer === 'ok') finish({ ok: true, serverSans: uriSans(socket.getPeerCertificate()) })
    })
    socket.on('error', (error) => finish({ ok: false, error: error.message }))
    socket.on('close', () => finish({ ok: false, error: `closed after ${JSON.stringify(answer)}` }))
  })
}

/** `openssl verify -x509_strict` of the identity's leaf against a bundle (its own by default). */
export function opensslVerify(identity: Identity, bundle = identity.trustBundle): string {
  const dir = tempDir('verify')
  try {
    const [leaf, ...intermediates] = certificatesIn(identity.certificateChain)
    writeFileSync(join(dir, 'bundle.pem'), bundle)
    writeFileSync(join(dir, 'leaf.pem'), leaf ?? '')
    writeFileSync(join(dir, 'chain.pem'), intermediates.join(''))
    return execFileSync(
      'openssl',
      [
        'verify',
        '-x509_strict',
        '-CAfile',
        'bundle.pem',
        ...(intermediates.length > 0 ? ['-untrusted', 'chain.pem'] : []),
        'leaf.pem',
      ],
      { cwd: dir, stdio: 'pipe' }
    ).toString()
  } finally {
    removeDir(dir)
  }
}

export async function until<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
  what: string
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (done(value)) return value
    if (Date.now() > deadline) {
      throw new Error(`${what}: not reached in ${timeoutMs} ms; last ${JSON.stringify(value)}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
