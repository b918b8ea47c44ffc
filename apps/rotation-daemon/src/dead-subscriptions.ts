import {
  type Clock,
  type DataplaneInsightSpec,
  isMeshcaError,
  type Logger,
  type MeshcaCore,
  type Resource,
} from '@meshca/core-mtls'
import type { DaemonMetrics, StepFailures } from './daemon-metrics.ts'
import { withDeadSubscriptionsClosed } from './mesh-insight.ts'

export interface DeadSubscriptionsOptions {
  readonly core: MeshcaCore
  readonly clock: Clock
  readonly logger: Logger
  readonly metrics: DaemonMetrics
  readonly failures: StepFailures
  /** An instance silent this long is gone, and so are the streams it held. */
  readonly instanceTimeoutMs: number
}

/**
 * Marks offline the subscriptions that instances no longer live left open; returns the insights
 * as they now stand and how many it closed.
 */
export async function closeDeadSubscriptions(
  options: DeadSubscriptionsOptions,
  mesh: string,
  insights: readonly Resource<'DataplaneInsight'>[],
  live: ReadonlySet<string>
): Promise<{ specs: Map<string, DataplaneInsightSpec>; closed: number }> {
  const { core, clock, logger, metrics, failures } = options
  const now = clock.now()
  const connectedBefore = new Date(now.getTime() - options.instanceTimeoutMs)
  const specs = new Map<string, DataplaneInsightSpec>()
  let closed = 0
  for (const insight of insights) {
    const changed = withDeadSubscriptionsClosed(insight.spec, live, connectedBefore, now)
    if (changed === undefined) {
      specs.set(insight.name, insight.spec)
      continue
    }
    try {
      // Optimistic: a data plane that reconnected meanwhile wrote a newer version, which wins.
      await core.resources.update({ ...insight, spec: changed })
      specs.set(insight.name, changed)
      closed++
      metrics.subscriptionsClosed.inc()
      logger.log('info', 'data plane marked offline: its control plane instance is gone', {
        mesh,
        dataplane: insight.name,
      })
    } catch (error) {
      specs.set(insight.name, insight.spec)
      if (!isMeshcaError(error, 'CONFLICT') && !isMeshcaError(error, 'NOT_FOUND')) {
        failures.fail('mark offline', error, { mesh, dataplane: insight.name })
      }
    }
  }
  return { specs, closed }
}
