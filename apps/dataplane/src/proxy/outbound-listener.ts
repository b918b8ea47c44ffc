/**
 * An outbound listener: the application connects to it, and it connects to an endpoint of the
 * service, round robin, skipping endpoints that failed a connect recently. A connect that fails
 * before any byte went upstream (refused, timeout, reset or TLS failure in the handshake) is retried
 * on another endpoint, up to min(3, endpoints) attempts; the client's bytes wait in its socket.
 *
 * mTLS is originated when the agent has an identity and the mode is STRICT, or PERMISSIVE with the
 * service TLS-ready (Kuma's rule): our certificate, the trust bundle, ALPN `kuma`, the SNI of the
 * configuration, and the upstream's certificate must carry exactly `config.identity` as a URI SAN.
 */
import { connect as netConnect, type Socket } from 'node:net'
import * as tls from 'node:tls'
import type { Endpoint, OutboundConfig } from '@meshca/core-mtls'
import { KUMA_ALPN } from './inbound-listener.ts'
import { type DrainOptions, ListenerCore, type ListenerOptions } from './listener-core.ts'
import { ignoreErrors, relay } from './pipe.ts'
import { connectFailureReason, timeoutError } from './timeouts.ts'
import type { ActiveIdentity, TlsIdentity } from './tls-identity.ts'

export interface OutboundListenerOptions extends ListenerOptions {
  readonly config: OutboundConfig
}

const MAX_ATTEMPTS = 3
/** Sessions kept per identity, the oldest dropped first: one per endpoint in practice. */
const MAX_SESSIONS = 4096

/** The error `checkServerIdentity` fails a handshake with when the upstream is another service. */
class WrongIdentityError extends Error {
  readonly code = 'ERR_MESHCA_WRONG_IDENTITY'
}

/** Certificate verification codes of node:tls (OpenSSL's X509_V_ERR names). */
const UNTRUSTED = /CERT|ISSUER|SIGNATURE|SELF_SIGNED|CHAIN/

function endpointKey(endpoint: Endpoint): string {
  return `${endpoint.address}:${endpoint.port}`
}

export class OutboundListener {
  readonly name: string
  readonly #core: ListenerCore
  readonly #identity: TlsIdentity
  /** Endpoint key → until when it is skipped. */
  readonly #cooling = new Map<string, number>()
  /**
   * TLS sessions to resume, per identity in use (a new identity or trust bundle starts afresh) and
   * per endpoint and expected upstream: a resumed connection skips the certificate signatures and
   * checks, which the first connection to that upstream made.
   */
  readonly #sessions = new WeakMap<ActiveIdentity, Map<string, Buffer>>()
  #config: OutboundConfig
  #next = 0

  private constructor(core: ListenerCore, options: OutboundListenerOptions) {
    this.#core = core
    this.#config = options.config
    this.#identity = options.identity
    this.name = core.name
  }

  /** Listens on `config.address:config.port` (port 0: any free port, see `port`). */
  static async listen(options: OutboundListenerOptions): Promise<OutboundListener> {
    const core = await ListenerCore.open('outbound', options.config, options)
    const listener = new OutboundListener(core, options)
    core.serve((socket) => listener.#accept(socket))
    return listener
  }

  get port(): number {
    return this.#core.port
  }

  /** Endpoints, identity, SNI and readiness of new connections; the address cannot change. */
  update(config: OutboundConfig): void {
    this.#core.checkSameAddress(this.#config, config)
    this.#config = config
    const keys = new Set(config.endpoints.map(endpointKey))
    for (const key of this.#cooling.keys()) if (!keys.has(key)) this.#cooling.delete(key)
  }

  close(options: DrainOptions = {}): Promise<void> {
    return this.#core.close(options)
  }

  #accept(socket: Socket): void {
    const config = this.#config
    if (config.endpoints.length === 0) {
      this.#core.metrics.upstreamFailure('no_endpoints')
      this.#core.denials.record(this.name, 'no_endpoints', config.service)
      socket.destroy()
      return
    }
    const attempts = Math.min(MAX_ATTEMPTS, config.endpoints.length)
    this.#attempt(socket, config, new Set(), attempts)
  }

  /** The next endpoint round robin, not tried yet, cooling ones only when nothing else is left. */
  #pick(endpoints: readonly Endpoint[], tried: ReadonlySet<string>): Endpoint | undefined {
    const now = Date.now()
    let fallback: number | undefined
    for (let i = 0; i < endpoints.length; i++) {
      const index = (this.#next + i) % endpoints.length
      const endpoint = endpoints[index] as Endpoint
      const key = endpointKey(endpoint)
      if (tried.has(key)) continue
      const until = this.#cooling.get(key)
      if (until !== undefined && until > now) {
        fallback ??= index
        continue
      }
      this.#next = index + 1
      return endpoint
    }
    if (fallback === undefined) return undefined
    this.#next = fallback + 1
    return endpoints[fallback]
  }

  #attempt(downstream: Socket, config: OutboundConfig, tried: Set<string>, left: number): void {
    if (downstream.destroyed) return
    const endpoint = this.#pick(config.endpoints, tried)
    if (endpoint === undefined) {
      downstream.destroy()
      return
    }
    const key = endpointKey(endpoint)
    tried.add(key)
    const { upstream, ready } = this.#open(endpoint, config)
    this.#core.sockets.add(upstream)
    upstream.on('error', ignoreErrors)
    const abandon = () => upstream.destroy()
    downstream.once('close', abandon)
    const fail = (error: Error) => {
      upstream.removeListener(ready, succeed)
      downstream.removeListener('close', abandon)
      upstream.destroy()
      this.#cooling.set(key, Date.now() + this.#core.timeouts.endpointCooldownMs)
      this.#failed(error, endpoint, config)
      if (left > 1) this.#attempt(downstream, config, tried, left - 1)
      else downstream.destroy()
    }
    const succeed = () => {
      upstream.setTimeout(0)
      upstream.removeListener('error', fail)
      downstream.removeListener('close', abandon)
      this.#cooling.delete(key)
      if (upstream instanceof tls.TLSSocket && upstream.isSessionReused()) {
        this.#core.metrics.resumedSession()
      }
      // The client's socket is the plaintext leg of an outbound.
      relay(downstream, upstream, () => {
        this.#core.metrics.relayed(downstream.bytesRead, downstream.bytesWritten)
      })
    }
    const timeout =
      ready === 'connect'
        ? this.#core.timeouts.connectMs
        : this.#core.timeouts.connectMs + this.#core.timeouts.handshakeMs
    upstream.setTimeout(timeout, () => fail(timeoutError()))
    upstream.once('error', fail)
    upstream.once(ready, succeed)
  }

  /** A connection to `endpoint`, TLS or not, and the event saying it is ready for bytes. */
  #open(endpoint: Endpoint, config: OutboundConfig): { upstream: Socket; ready: string } {
    const identity = this.#identity.current()
    const originate = identity !== undefined && (identity.mode === 'STRICT' || config.tlsReady)
    if (identity === undefined || !originate) {
      const upstream = netConnect({
        host: endpoint.address,
        port: endpoint.port,
        allowHalfOpen: true,
        noDelay: true,
      })
      return { upstream, ready: 'connect' }
    }
    const expected = config.identity
    // node:tls passes `allowHalfOpen` to the socket though its types leave it out.
    const options: tls.ConnectionOptions & { allowHalfOpen: boolean } = {
      host: endpoint.address,
      port: endpoint.port,
      allowHalfOpen: true,
      secureContext: identity.clientContext,
      ALPNProtocols: [KUMA_ALPN],
      servername: config.sni,
      // The upstream is named by its URI SAN (Envoy's exact SAN matcher), not by a host name.
      checkServerIdentity: (_host, certificate) =>
        this.#core.peers.lookup(certificate).uriSet.has(expected)
          ? undefined
          : new WrongIdentityError(`the upstream is not ${expected}`),
    }
    const sessions = this.#sessionsOf(identity)
    const sessionKey = `${endpointKey(endpoint)} ${expected} ${config.sni}`
    const session = sessions.get(sessionKey)
    const upstream = tls.connect(session === undefined ? options : { ...options, session })
    upstream.setNoDelay(true)
    upstream.on('session', (ticket: Buffer) => {
      sessions.delete(sessionKey)
      if (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value ?? '')
      sessions.set(sessionKey, ticket)
    })
    // A session that led to a failure is not offered again.
    upstream.once('error', () => sessions.delete(sessionKey))
    return { upstream, ready: 'secureConnect' }
  }

  #sessionsOf(identity: ActiveIdentity): Map<string, Buffer> {
    let sessions = this.#sessions.get(identity)
    if (sessions === undefined) {
      sessions = new Map()
      this.#sessions.set(identity, sessions)
    }
    return sessions
  }

  #failed(error: Error, endpoint: Endpoint, config: OutboundConfig): void {
    const code = (error as NodeJS.ErrnoException).code ?? ''
    const where = { endpoint: endpointKey(endpoint), dataplane: endpoint.dataplane }
    if (error instanceof WrongIdentityError || code === 'ERR_MESHCA_WRONG_IDENTITY') {
      this.#core.metrics.upstreamFailure('tls')
      this.#core.metrics.handshakeFailure('wrong_identity')
      this.#core.denials.record(this.name, 'wrong_identity', config.identity, where)
    } else if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || UNTRUSTED.test(code)) {
      this.#core.metrics.upstreamFailure('tls')
      this.#core.metrics.handshakeFailure(
        UNTRUSTED.test(code) ? 'untrusted_certificate' : 'handshake_error'
      )
      this.#core.denials.record(this.name, 'upstream_tls', where.endpoint, {
        ...where,
        error: code,
      })
    } else {
      const reason = connectFailureReason(error)
      this.#core.metrics.upstreamFailure(reason)
      this.#core.denials.record(this.name, `upstream_${reason}`, where.endpoint, {
        ...where,
        error: code,
      })
    }
  }
}
