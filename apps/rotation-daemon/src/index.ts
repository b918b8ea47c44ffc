/**
 * @module
 * The meshca rotation daemon: `startRotationDaemon` reconciles CA material for every mesh, marks
 * data planes offline when their control plane instance went silent, writes MeshInsight, warns
 * ahead of CA expiry and exports what it sees as Prometheus metrics (`createMetricsRegistry`,
 * served by `createMetricsApp` on a port of its own). Several may run; only the leader writes.
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
export { meshInsightOf, withDeadSubscriptionsClosed } from './mesh-insight.ts'
export {
  type Counter,
  createMetricsRegistry,
  DEFAULT_LATENCY_BUCKETS_SECONDS,
  type Gauge,
  type Histogram,
  type Labels,
  type MetricsRegistry,
  PROMETHEUS_CONTENT_TYPE,
} from './metrics.ts'
export { createMetricsApp } from './metrics-app.ts'
