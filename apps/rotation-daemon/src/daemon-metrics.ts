import type { Logger } from '@meshca/core-mtls'
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

/** Label values of one series. */
export type Labels = Readonly<Record<string, string>>

/** From a cache hit (1 ms) up to a slow CA signature or database round trip (10 s). */
export const DEFAULT_LATENCY_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
])

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
  readonly #caExpiry: Gauge<string>
  readonly #dpExpiry: Gauge<string>
  readonly #dataplanes: Gauge<string>
  readonly tickSeconds: Histogram
  readonly errors: Counter<'step'>
  readonly subscriptionsClosed: Counter

  constructor(registry: Registry) {
    const registers = [registry]
    this.#leader = new Gauge({
      name: 'meshca_daemon_leader',
      help: 'Whether this rotation daemon leads (1) and does the writes, or stands by (0).',
      registers,
    })
    this.tickSeconds = new Histogram({
      name: 'meshca_daemon_tick_duration_seconds',
      help: 'Time one daemon tick took.',
      buckets: [...DEFAULT_LATENCY_BUCKETS_SECONDS],
      registers,
    })
    this.errors = new Counter({
      name: 'meshca_daemon_errors_total',
      help: 'Steps of daemon ticks that failed (logged), by step.',
      labelNames: ['step'],
      registers,
    })
    this.subscriptionsClosed = new Counter({
      name: 'meshca_daemon_subscriptions_closed_total',
      help: 'Data plane subscriptions marked disconnected because their control plane instance went silent.',
      registers,
    })
    this.#caExpiry = new Gauge({
      name: 'meshca_ca_certificate_expiry_timestamp_seconds',
      help: 'NotAfter of the earliest-ending certificate of each CA backend, in Unix seconds.',
      labelNames: ['mesh', 'backend'],
      registers,
    })
    this.#dpExpiry = new Gauge({
      name: 'meshca_dataplane_certificate_expiry_timestamp_seconds',
      help: 'NotAfter of the certificate each connected data plane holds, in Unix seconds.',
      labelNames: ['mesh', 'dataplane'],
      registers,
    })
    this.#dataplanes = new Gauge({
      name: 'meshca_dataplanes',
      help: 'Data planes of each mesh by status; online ones hold an open stream.',
      labelNames: ['mesh', 'status'],
      registers,
    })
  }

  leads(leader: boolean): void {
    this.#leader.set(leader ? 1 : 0)
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
  readonly #counter: Counter<'step'>
  #count = 0

  constructor(logger: Logger, counter: Counter<'step'>) {
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
