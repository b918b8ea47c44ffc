/**
 * The TLS endpoints of a data plane, on node:tls with the identities it received, as Envoy's SDS
 * would use them: an inbound listener in STRICT mode and an outbound connection.
 */
import type { AddressInfo } from 'node:net'
import * as tls from 'node:tls'
import type { Identity } from './identity.ts'

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
