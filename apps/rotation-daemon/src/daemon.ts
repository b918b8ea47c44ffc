/**
 * The rotation daemon: the scheduled work that no request triggers. Every instance reads the store
 * and exports what it sees as metrics; only the leader writes (CA material, offline marks,
 * MeshInsight), so that several daemons on one database never do the same write twice.
 *
 * Each tick, for every mesh: ensure the CA material of each backend exists (a Mesh written straight
 * into the store, by a Kubernetes operator or by psql, never went through the API that creates it),
 * close the subscriptions that a vanished instance left open, write the mesh's MeshInsight, and
 * warn about CAs nearing their end. A Mesh change triggers a tick at once; otherwise the period runs.
 * A mesh deleted during a tick is normal: CA material written for it is removed again
 * (`reconcileMeshCas`), and the rest of its tick is skipped. Now and then the leader also removes
 * what meshes that do not exist left behind (`sweepOrphans`).
 */
import {
  type CaBackendRegistry,
  type Clock,
  DEFAULT_ORPHAN_GRACE_MS,
  defaultCaBackends,
  type InstanceRegistry,
  type Leadership,
  type Logger,
  type MeshcaCore,
  type Store,
  systemClock,
} from '@meshca/core-mtls'
import type { Registry } from 'prom-client'
import { DaemonMetrics, StepFailures } from './daemon-metrics.ts'
import { DaemonTick, type TickReport } from './daemon-tick.ts'
import { TickScheduler } from './tick-scheduler.ts'

export type { TickReport } from './daemon-tick.ts'

export const DEFAULT_DAEMON_INTERVAL_MS = 10_000
/** Three missed heartbeats of the default 5 s: an instance this silent is gone. */
export const DEFAULT_INSTANCE_TIMEOUT_MS = 15_000
export const DEFAULT_CA_EXPIRY_WARNING_MS = 30 * 24 * 3600_000
/** Sweeping reads every mesh-scoped row: once a minute, not every tick. */
export const DEFAULT_ORPHAN_SWEEP_INTERVAL_MS = 60_000

export interface RotationDaemonOptions {
  readonly core: MeshcaCore
  readonly store: Store
  readonly instances: InstanceRegistry
  /** Where the daemon registers its metrics (prom-client); the caller serves it. */
  readonly metrics: Registry
  readonly logger: Logger
  /** Absent: this daemon is the only one and always leads (memory store, tests). */
  readonly leadership?: Leadership
  readonly caBackends?: CaBackendRegistry
  readonly clock?: Clock
  readonly intervalMs?: number
  readonly instanceTimeoutMs?: number
  readonly caExpiryWarningMs?: number
  /**
   * Resources of a mesh that does not exist are removed once unchanged this long (`sweepOrphans`):
   * far longer than a mesh's create takes between its CA and its Mesh.
   */
  readonly orphanGraceMs?: number
  /** At most one orphan sweep per this period, in a leader's tick; 0: every tick. */
  readonly orphanSweepIntervalMs?: number
}

export interface RotationDaemon {
  isLeader(): boolean
  /** Runs one tick now (after the running one, if any). */
  tick(): Promise<TickReport>
  /** Stops ticking and gives up leadership. */
  close(): Promise<void>
}

export function startRotationDaemon(options: RotationDaemonOptions): RotationDaemon {
  const { store, logger, leadership } = options
  const isLeader = () => leadership?.isLeader() ?? true
  const metrics = new DaemonMetrics(options.metrics)
  const failures = new StepFailures(logger, metrics.errors)
  const daemonTick = new DaemonTick({
    ...options,
    clock: options.clock ?? systemClock,
    caBackends: options.caBackends ?? defaultCaBackends(),
    metrics,
    failures,
    isLeader,
    instanceTimeoutMs: options.instanceTimeoutMs ?? DEFAULT_INSTANCE_TIMEOUT_MS,
    caExpiryWarningMs: options.caExpiryWarningMs ?? DEFAULT_CA_EXPIRY_WARNING_MS,
    orphanGraceMs: options.orphanGraceMs ?? DEFAULT_ORPHAN_GRACE_MS,
    orphanSweepIntervalMs: options.orphanSweepIntervalMs ?? DEFAULT_ORPHAN_SWEEP_INTERVAL_MS,
  })
  const scheduler = new TickScheduler(
    () => daemonTick.run(),
    options.intervalMs ?? DEFAULT_DAEMON_INTERVAL_MS,
    (error) => failures.fail('tick', error)
  )

  const unwatch = store.watch(
    (event) => {
      if (event.action !== 'delete' && isLeader()) scheduler.schedule(0)
    },
    { types: ['Mesh'] }
  )
  const unlead = leadership?.onChange((leader) => {
    metrics.leads(leader)
    logger.log('info', leader ? 'rotation daemon leads' : 'rotation daemon stands by')
    if (leader) scheduler.schedule(0)
  })
  metrics.leads(isLeader())
  scheduler.schedule(0)

  return {
    isLeader,
    tick: () => scheduler.tick(),
    async close() {
      // Closing stops the timer at once; the running tick is awaited after the listeners went.
      const ticksDone = scheduler.close()
      unwatch()
      unlead?.()
      await ticksDone
      await leadership?.stop()
    },
  }
}
