/**
 * The proxy's Prometheus metrics. Children are bound per listener when it starts, so a connection
 * costs a few counter increments and no label lookup.
 *
 * `meshca_dp_bytes_total{flow}` counts application bytes on the plaintext leg of a connection (the
 * application's side of an inbound, the client's side of an outbound; raw bytes when TLS is passed
 * through): `downstream_rx` from the client towards the upstream, `downstream_tx` back to the client.
 */
import { Counter, Gauge, type Registry } from 'prom-client'

export type Direction = 'inbound' | 'outbound'

export type HandshakeFailureReason =
  | 'no_client_certificate'
  | 'untrusted_certificate'
  | 'other_mesh'
  | 'wrong_identity'
  | 'not_tls'
  | 'invalid_client_hello'
  | 'handshake_error'
  | 'timeout'

export type UpstreamFailureReason =
  | 'no_endpoints'
  | 'refused'
  | 'timeout'
  | 'reset'
  | 'tls'
  | 'other'

const HANDSHAKE_REASONS: Record<Direction, readonly HandshakeFailureReason[]> = {
  inbound: [
    'no_client_certificate',
    'untrusted_certificate',
    'other_mesh',
    'not_tls',
    'invalid_client_hello',
    'handshake_error',
    'timeout',
  ],
  outbound: ['untrusted_certificate', 'wrong_identity', 'handshake_error', 'timeout'],
}

const UPSTREAM_REASONS: Record<Direction, readonly UpstreamFailureReason[]> = {
  inbound: ['refused', 'timeout', 'reset', 'other'],
  outbound: ['no_endpoints', 'refused', 'timeout', 'reset', 'tls', 'other'],
}

export class ProxyMetrics {
  readonly connections: Counter<'direction' | 'listener'>
  readonly active: Gauge<'direction' | 'listener'>
  readonly bytes: Counter<'direction' | 'listener' | 'flow'>
  readonly handshakeFailures: Counter<'direction' | 'listener' | 'reason'>
  readonly rbacDenied: Counter<'listener' | 'permission'>
  readonly rbacAllowed: Counter<'listener' | 'permission'>
  readonly upstreamFailures: Counter<'direction' | 'listener' | 'reason'>
  readonly resumed: Counter<'direction' | 'listener'>

  constructor(registry: Registry) {
    const registers = [registry]
    const direction = ['direction', 'listener'] as const
    this.connections = new Counter({
      name: 'meshca_dp_connections_total',
      help: 'Connections accepted by a proxy listener.',
      labelNames: direction,
      registers,
    })
    this.active = new Gauge({
      name: 'meshca_dp_active_connections',
      help: 'Connections open on a proxy listener.',
      labelNames: direction,
      registers,
    })
    this.bytes = new Counter({
      name: 'meshca_dp_bytes_total',
      help: 'Application bytes relayed, by flow: downstream_rx (from the client), downstream_tx (to it).',
      labelNames: [...direction, 'flow'],
      registers,
    })
    this.handshakeFailures = new Counter({
      name: 'meshca_dp_tls_handshake_failures_total',
      help: 'Connections closed because the TLS handshake or the peer identity failed.',
      labelNames: [...direction, 'reason'],
      registers,
    })
    this.rbacDenied = new Counter({
      name: 'meshca_dp_rbac_denied_total',
      help: 'mTLS connections denied by the inbound policy (permission "none": none matched).',
      labelNames: ['listener', 'permission'],
      registers,
    })
    this.rbacAllowed = new Counter({
      name: 'meshca_dp_rbac_allowed_total',
      help: 'mTLS connections allowed by the inbound policy.',
      labelNames: ['listener', 'permission'],
      registers,
    })
    this.resumed = new Counter({
      name: 'meshca_dp_tls_sessions_resumed_total',
      help: 'TLS connections that resumed an earlier session (no certificate exchange).',
      labelNames: direction,
      registers,
    })
    this.upstreamFailures = new Counter({
      name: 'meshca_dp_upstream_connect_failures_total',
      help: 'Failed connection attempts to an upstream (the application, or an endpoint).',
      labelNames: [...direction, 'reason'],
      registers,
    })
  }

  /** The metrics of one listener, its counters initialised to 0. */
  listener(direction: Direction, listener: string): ListenerMetrics {
    return new ListenerMetrics(this, direction, listener)
  }
}

type Inc = { inc(value?: number): void }

export class ListenerMetrics {
  readonly #connections: Inc
  readonly #active: { inc(): void; dec(): void }
  readonly #rx: Inc
  readonly #tx: Inc
  readonly #handshake = new Map<HandshakeFailureReason, Inc>()
  readonly #upstream = new Map<UpstreamFailureReason, Inc>()
  readonly #resumed: Inc

  readonly metrics: ProxyMetrics
  readonly direction: Direction
  readonly listener: string

  constructor(metrics: ProxyMetrics, direction: Direction, listener: string) {
    this.metrics = metrics
    this.direction = direction
    this.listener = listener
    const labels = { direction, listener }
    this.#connections = metrics.connections.labels(labels)
    this.#active = metrics.active.labels(labels)
    this.#rx = metrics.bytes.labels({ ...labels, flow: 'downstream_rx' })
    this.#tx = metrics.bytes.labels({ ...labels, flow: 'downstream_tx' })
    this.#resumed = metrics.resumed.labels(labels)
    for (const c of [this.#connections, this.#rx, this.#tx, this.#resumed]) c.inc(0)
    this.#active.inc()
    this.#active.dec()
    for (const reason of HANDSHAKE_REASONS[direction]) {
      const child = metrics.handshakeFailures.labels({ ...labels, reason })
      child.inc(0)
      this.#handshake.set(reason, child)
    }
    for (const reason of UPSTREAM_REASONS[direction]) {
      const child = metrics.upstreamFailures.labels({ ...labels, reason })
      child.inc(0)
      this.#upstream.set(reason, child)
    }
  }

  opened(): void {
    this.#connections.inc()
    this.#active.inc()
  }

  closed(): void {
    this.#active.dec()
  }

  /** Bytes of a finished relay: `rxBytes` from the client, `txBytes` to it. */
  relayed(rxBytes: number, txBytes: number): void {
    if (rxBytes > 0) this.#rx.inc(rxBytes)
    if (txBytes > 0) this.#tx.inc(txBytes)
  }

  handshakeFailure(reason: HandshakeFailureReason): void {
    const child = this.#handshake.get(reason)
    if (child !== undefined) child.inc()
    else
      this.metrics.handshakeFailures.inc({
        direction: this.direction,
        listener: this.listener,
        reason,
      })
  }

  upstreamFailure(reason: UpstreamFailureReason): void {
    const child = this.#upstream.get(reason)
    if (child !== undefined) child.inc()
    else
      this.metrics.upstreamFailures.inc({
        direction: this.direction,
        listener: this.listener,
        reason,
      })
  }

  resumedSession(): void {
    this.#resumed.inc()
  }

  rbac(permission: string, allowed: boolean): void {
    const counter = allowed ? this.metrics.rbacAllowed : this.metrics.rbacDenied
    counter.inc({ listener: this.listener, permission })
  }
}
