/**
 * @module
 * The meshca rotation daemon: `startRotationDaemon` reconciles CA material for every mesh, marks
 * data planes offline when their control plane instance went silent, writes MeshInsight, warns
 * ahead of CA expiry and registers what it sees as Prometheus metrics on the prom-client
 * `Registry` it is given. Several may run; only the leader writes.
 */
export {
  DEFAULT_CA_EXPIRY_WARNING_MS,
  DEFAULT_DAEMON_INTERVAL_MS,
  DEFAULT_INSTANCE_TIMEOUT_MS,
  DEFAULT_ORPHAN_SWEEP_INTERVAL_MS,
  type RotationDaemon,
  type RotationDaemonOptions,
  startRotationDaemon,
  type TickReport,
} from './daemon.ts'
export { DEFAULT_LATENCY_BUCKETS_SECONDS } from './daemon-metrics.ts'
export { meshInsightOf, withDeadSubscriptionsClosed } from './mesh-insight.ts'
