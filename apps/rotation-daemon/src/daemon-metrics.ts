import type { Logger } from '@meshca/core-mtls'
import {
  type Counter,
  DEFAULT_LATENCY_BUCKETS_SECONDS,
  type Gauge,
  type Histogram,
  type Labels,
  type MetricsRegistry,
} from './metrics.ts'

/** Gauge values of one tick, set together at its end so that a scrape never sees half a tick. */
export interface Observed {
  readonly caExpiry: [Labels, number][]
  readonly dpExpiry: [Labels, number][]
  readonly dataplanes: [Labels, number][]
}

export function nothingObserved(): Observed {
  return { caExpiry: [], dpExpiry: [], dataplanes: [] }
}

/** The daemon's metrics, registered once per daemon. */
export class DaemonMetrics {
  readonly #leader: Gauge
  readonly #caExpiry: Gauge
  readonly #dpExpiry: Gauge
  readonly #dataplanes: Gauge
  readonly tickSeconds: Histogram
  readonly errors: Counter
  readonly subscriptionsClosed: Counter

  constructor(metrics: MetricsRegistry) {
    this.#leader = metrics.gauge(
      'meshca_daemon_leader',
      'Whether this rotation daemon leads (1) and does the writes, or stands by (0).'
    )
    this.tickSeconds = metrics.histogram(
      'meshca_daemon_tick_duration_seconds',
      'Time one daemon tick took.',
      DEFAULT_LATENCY_BUCKETS_SECONDS
    )
    this.errors = metrics.counter(
      'meshca_daemon_errors_total',
      'Steps of daemon ticks that failed (logged), by step.',
      ['step']
    )
    this.subscriptionsClosed = metrics.counter(
      'meshca_daemon_subscriptions_closed_total',
      'Data plane subscriptions marked disconnected because their control plane instance went silent.'
    )
    this.#caExpiry = metrics.gauge(
      'meshca_ca_certificate_expiry_timestamp_seconds',
      'NotAfter of the earliest-ending certificate of each CA backend, in Unix seconds.',
      ['mesh', 'backend']
    )
    this.#dpExpiry = metrics.gauge(
      'meshca_dataplane_certificate_expiry_timestamp_seconds',
      'NotAfter of the certificate each connected data plane holds, in Unix seconds.',
      ['mesh', 'dataplane']
    )
    this.#dataplanes = metrics.gauge(
      'meshca_dataplanes',
      'Data planes of each mesh by status; online ones hold an open stream.',
      ['mesh', 'status']
    )
  }

  leads(leader: boolean): void {
    this.#leader.set(undefined, leader ? 1 : 0)
  }

  publish(observed: Observed): void {
    for (const [gauge, rows] of [
      [this.#caExpiry, observed.caExpiry],
      [this.#dpExpiry, observed.dpExpiry],
      [this.#dataplanes, observed.dataplanes],
    ] as const) {
      gauge.reset()
      for (const [labels, value] of rows) gauge.set(labels, value)
    }
  }
}

/** Failed steps of ticks: logged, counted by step, and counted for the tick's report. */
export class StepFailures {
  readonly #logger: Logger
  readonly #counter: Counter
  #count = 0

  constructor(logger: Logger, counter: Counter) {
    this.#logger = logger
    this.#counter = counter
  }

  get count(): number {
    return this.#count
  }

  fail(step: string, error: unknown, fields: Record<string, unknown> = {}): void {
    this.#count++
    this.#counter.inc({ step })
    this.#logger.log('error', `rotation daemon: ${step} failed`, {
      ...fields,
      error: error instanceof Error ? error.message : String(error),
    })
  }
}
