/**
 * An inbound listener: accepts connections for one inbound of the data plane and forwards them to
 * the application, as Kuma's inbound listener does.
 *
 * - mTLS off: plain TCP, no RBAC (TrafficPermissions have no effect).
 * - STRICT: TLS only; a client certificate that chains to the trust bundle and names a service of
 *   this mesh; then RBAC. ALPN `kuma` is negotiated when offered; a client offering other protocols
 *   only is accepted without ALPN (as Envoy's STRICT chain, which has no ALPN match, does).
 * - PERMISSIVE: plaintext goes to the application without RBAC; TLS offering ALPN `kuma` is
 *   terminated as in STRICT; other TLS (app-level TLS) goes to the application untouched.
 *
 * TLS is terminated by a `tls.Server` that never listens: the accepted socket, its sniffed bytes
 * pushed back, is handed to it with `emit('connection')`, which works the same on Node and Bun and
 * gives `authorized` as a listening TLS server would.
 *
 * `update` applies to connections accepted afterwards; open connections are not re-evaluated (a
 * revoked permission takes effect on the next connection, as with Envoy's network RBAC filter).
 */
import { connect as netConnect, type Socket } from 'node:net'
import * as tls from 'node:tls'
import { type InboundConfig, policyAllows } from '@meshca/core-mtls'
import { type ClientHelloSniff, MAX_CLIENT_HELLO_BYTES, sniffClientHello } from './client-hello.ts'
import { type DrainOptions, ListenerCore, type ListenerOptions } from './listener-core.ts'
import { ignoreErrors, relay } from './pipe.ts'
import type { HandshakeFailureReason } from './proxy-metrics.ts'
import { connectFailureReason, timeoutError } from './timeouts.ts'
import type { ActiveIdentity, TlsIdentity } from './tls-identity.ts'

export const KUMA_ALPN = 'kuma'

export interface InboundListenerOptions extends ListenerOptions {
  readonly config: InboundConfig
}

/** A connection in its TLS handshake: what the terminating server's events need. */
interface Handshake {
  readonly raw: Socket
  readonly config: InboundConfig
  readonly identity: ActiveIdentity
}

interface Terminators {
  readonly identity: ActiveIdentity
  withAlpn?: tls.Server
  withoutAlpn?: tls.Server
}

/**
 * What a relayed connection was admitted as: re-checked when the policy or the mode changes, so
 * that a revoked permission or a switch to STRICT does not leave connections running.
 */
type Admission =
  | { readonly kind: 'mtls'; readonly uris: ReadonlySet<string>; readonly peer: string }
  | { readonly kind: 'plaintext' }

const PLAINTEXT: Admission = { kind: 'plaintext' }

function remoteKey(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`
}

export class InboundListener {
  readonly name: string
  readonly #core: ListenerCore
  readonly #identity: TlsIdentity
  readonly #handshakes = new Map<string, Handshake>()
  readonly #admitted = new Map<Socket, Admission>()
  #config: InboundConfig
  #terminators: Terminators | undefined

  private constructor(core: ListenerCore, options: InboundListenerOptions) {
    this.#core = core
    this.#config = options.config
    this.#identity = options.identity
    this.name = core.name
  }

  /** Listens on `config.address:config.port` (port 0: any free port, see `port`). */
  static async listen(options: InboundListenerOptions): Promise<InboundListener> {
    const core = await ListenerCore.open('inbound', options.config, options)
    const listener = new InboundListener(core, options)
    core.serve((socket) => listener.#accept(socket))
    return listener
  }

  get port(): number {
    return this.#core.port
  }

  /**
   * The configuration of new connections (the listening address cannot change). Open mTLS
   * connections whose client the new policy no longer allows are closed.
   */
  update(config: InboundConfig): void {
    this.#core.checkSameAddress(this.#config, config)
    this.#config = config
    this.reconcile()
  }

  /**
   * Closes the open connections the current policy and mode no longer admit: mTLS clients the
   * policy does not allow, and connections without mTLS (plaintext, application TLS) in STRICT
   * mode. Called on a policy change and by the agent after each new identity.
   */
  reconcile(): void {
    const identity = this.#identity.current()
    const { policy } = this.#config
    for (const [socket, admission] of this.#admitted) {
      if (admission.kind === 'plaintext') {
        if (identity?.mode !== 'STRICT') continue
        this.#core.denials.record(this.name, 'closed_by_strict', String(socket.remoteAddress))
      } else {
        if (identity === undefined || policyAllows(policy, admission.uris)) continue
        this.#core.metrics.rbac(policy?.permission ?? 'none', false)
        this.#core.denials.record(this.name, 'rbac_revoked', admission.peer, {
          permission: policy?.permission ?? 'none',
        })
      }
      this.#admitted.delete(socket)
      socket.destroy()
    }
  }

  /** Stops accepting now, lets open connections run up to `drainMs`, then destroys the rest. */
  close(options: DrainOptions = {}): Promise<void> {
    return this.#core.close(options)
  }

  #accept(socket: Socket): void {
    const identity = this.#identity.current()
    if (identity === undefined) this.#forward(socket, socket, this.#config, PLAINTEXT)
    else this.#sniff(socket, identity, this.#config)
  }

  /**
   * Reads up to one TLS record, pushes it back, and routes the connection on what it holds. Chunks
   * are joined once the record is whole: a client sending its hello a byte at a time costs one copy,
   * not one per byte.
   */
  #sniff(socket: Socket, identity: ActiveIdentity, config: InboundConfig): void {
    const chunks: Buffer[] = []
    let total = 0
    const timer = setTimeout(
      () => this.#refuse(socket, 'timeout', undefined),
      this.#core.timeouts.firstBytesMs
    )
    const onReadable = () => {
      for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read()) {
        chunks.push(chunk)
        total += chunk.length
      }
      if (total === 0 || total < bytesToDecide(chunks, total)) return
      const buffered = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total)
      let sniff = sniffClientHello(buffered)
      if (sniff.kind === 'incomplete') {
        if (buffered.length < MAX_CLIENT_HELLO_BYTES) return
        sniff = { kind: 'invalid', reason: 'oversized' }
      }
      stop()
      socket.unshift(buffered)
      this.#route(socket, sniff, identity, config)
    }
    const stop = () => {
      clearTimeout(timer)
      socket.removeListener('readable', onReadable)
    }
    socket.on('readable', onReadable)
    socket.once('close', stop)
  }

  #route(socket: Socket, sniff: ClientHelloSniff, identity: ActiveIdentity, config: InboundConfig) {
    const strict = identity.mode === 'STRICT'
    if (sniff.kind === 'plaintext') {
      if (strict) this.#refuse(socket, 'not_tls', undefined)
      else this.#forward(socket, socket, config, PLAINTEXT)
    } else if (sniff.kind !== 'tls') {
      this.#refuse(socket, 'invalid_client_hello', undefined)
    } else if (sniff.alpn.includes(KUMA_ALPN)) {
      this.#terminate(socket, identity, config, true)
    } else if (strict) {
      this.#terminate(socket, identity, config, false)
    } else {
      this.#forward(socket, socket, config, PLAINTEXT)
    }
  }

  #terminate(raw: Socket, identity: ActiveIdentity, config: InboundConfig, alpn: boolean): void {
    const key = remoteKey(raw)
    this.#handshakes.set(key, { raw, config, identity })
    raw.once('close', () => this.#handshakes.delete(key))
    this.#terminator(identity, alpn).emit('connection', raw)
  }

  /** The non-listening TLS server of `identity`, made on its first use and kept until it changes. */
  #terminator(identity: ActiveIdentity, alpn: boolean): tls.Server {
    let terminators = this.#terminators
    if (terminators?.identity !== identity) {
      terminators = { identity }
      this.#terminators = terminators
    }
    const existing = alpn ? terminators.withAlpn : terminators.withoutAlpn
    if (existing !== undefined) return existing
    const server = tls.createServer({
      ...identity.serverOptions,
      requestCert: true,
      // Checked in `#secured`, which tells why; with `true`, Node drops an untrusted client
      // without any event, so it could not be counted.
      rejectUnauthorized: false,
      handshakeTimeout: this.#core.timeouts.handshakeMs,
      allowHalfOpen: true,
      ...(alpn ? { ALPNProtocols: [KUMA_ALPN] } : {}),
    })
    server.on('secureConnection', (socket: tls.TLSSocket) => this.#secured(socket))
    server.on('tlsClientError', (error: Error, socket: tls.TLSSocket) => {
      this.#handshakeFailed(error, socket)
    })
    if (alpn) terminators.withAlpn = server
    else terminators.withoutAlpn = server
    return server
  }

  #handshakeFailed(error: Error, socket: tls.TLSSocket): void {
    const handshake = this.#handshakes.get(remoteKey(socket))
    const code = (error as NodeJS.ErrnoException).code
    const reason: HandshakeFailureReason =
      code === 'ERR_TLS_HANDSHAKE_TIMEOUT'
        ? 'timeout'
        : code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE'
          ? 'no_client_certificate'
          : 'handshake_error'
    socket.destroy()
    // Bun reports a handshake timeout without closing the connection.
    this.#refuse(handshake?.raw ?? socket, reason, undefined, { error: code ?? error.message })
  }

  #secured(socket: tls.TLSSocket): void {
    socket.on('error', ignoreErrors)
    const handshake = this.#handshakes.get(remoteKey(socket))
    if (handshake === undefined) {
      socket.destroy()
      return
    }
    this.#core.sockets.add(socket)
    const certificate = socket.getPeerX509Certificate()
    if (certificate === undefined) {
      this.#refuse(socket, 'no_client_certificate', undefined)
      return
    }
    if (!socket.authorized) {
      const error = String(socket.authorizationError ?? 'unknown')
      this.#refuse(socket, 'untrusted_certificate', undefined, { error })
      return
    }
    const peer = this.#core.peers.lookup(certificate)
    const { meshPrefix } = handshake.identity
    if (!peer.uris.some((uri) => uri.startsWith(meshPrefix))) {
      this.#refuse(socket, 'other_mesh', peer.uris[0])
      return
    }
    const { policy } = handshake.config
    const permission = policy?.permission ?? 'none'
    if (socket.isSessionReused()) this.#core.metrics.resumedSession()
    const allowed = policyAllows(policy, peer.uriSet)
    this.#core.metrics.rbac(permission, allowed)
    if (!allowed) {
      this.#core.denials.record(this.name, 'rbac_denied', peer.uris.join(' '), { permission })
      socket.destroy()
      return
    }
    this.#forward(socket, handshake.raw, handshake.config, {
      kind: 'mtls',
      uris: peer.uriSet,
      peer: peer.uris.join(' '),
    })
  }

  /** Connects to the application and relays; `raw` is the accepted TCP socket under `downstream`. */
  #forward(downstream: Socket, raw: Socket, config: InboundConfig, admission: Admission): void {
    this.#admitted.set(downstream, admission)
    downstream.once('close', () => this.#admitted.delete(downstream))
    const upstream = netConnect({
      host: config.serviceAddress,
      port: config.servicePort,
      allowHalfOpen: true,
      noDelay: true,
    })
    this.#core.sockets.add(upstream)
    upstream.on('error', ignoreErrors)
    const fail = (error: Error) => {
      const reason = connectFailureReason(error)
      this.#core.metrics.upstreamFailure(reason)
      const app = `${config.serviceAddress}:${config.servicePort}`
      this.#core.denials.record(this.name, `application_${reason}`, app, { error: error.message })
      upstream.destroy()
      downstream.destroy()
      raw.destroy()
    }
    upstream.setTimeout(this.#core.timeouts.connectMs, () => fail(timeoutError()))
    upstream.once('error', fail)
    upstream.once('connect', () => {
      upstream.setTimeout(0)
      upstream.removeListener('error', fail)
      // The application's socket is the plaintext leg: what it is sent came from the client.
      relay(downstream, upstream, () => {
        this.#core.metrics.relayed(upstream.bytesWritten, upstream.bytesRead)
      })
    })
  }

  #refuse(
    socket: Socket,
    reason: HandshakeFailureReason,
    peer: string | undefined,
    fields: Record<string, unknown> = {}
  ): void {
    this.#core.metrics.handshakeFailure(reason)
    this.#core.denials.record(this.name, reason, peer ?? String(socket.remoteAddress), fields)
    socket.destroy()
  }
}

/**
 * How many bytes the sniffer needs before it can decide: one byte tells plaintext from TLS, a TLS
 * record header tells the record's length (at most `MAX_CLIENT_HELLO_BYTES`).
 */
function bytesToDecide(chunks: readonly Buffer[], total: number): number {
  const first = chunks[0]
  if (first === undefined || first[0] !== TLS_HANDSHAKE_RECORD) return 1
  if (total < TLS_RECORD_HEADER) return TLS_RECORD_HEADER
  const header =
    first.length >= TLS_RECORD_HEADER ? first : Buffer.concat(chunks, TLS_RECORD_HEADER)
  return Math.min(MAX_CLIENT_HELLO_BYTES, TLS_RECORD_HEADER + header.readUInt16BE(3))
}

const TLS_HANDSHAKE_RECORD = 0x16
const TLS_RECORD_HEADER = 5
