/**
 * What the data plane API writes into `DataplaneInsight` (docs/kuma-compatibility.md §7.1): the
 * `mTLS` statistics of each issuance and one subscription per stream (connect and disconnect times,
 * the instance serving it, how many identities it sent). The insight is the only place these
 * survive a restart, and core's safe CA switch (decision 4 of docs/decisions.md) reads
 * `supportedBackends` of the online data planes from it.
 *
 * The transforms are pure; `createInsightRecorder` applies them with read-modify-write against
 * concurrent writers (other streams of the same data plane, other instances): a lost race re-reads
 * and applies the change again, so no regeneration is ever counted twice or lost.
 */
import {
  type DataplaneInsightSpec,
  type IdentityResult,
  isMeshcaError,
  type JsonObject,
  type JsonValue,
  type Logger,
  type ResourceManager,
} from '@meshca/core-mtls'
import { rfc3339 } from './identity-json.ts'

/** Subscriptions kept per data plane: the newest ones, so that reconnect loops cannot grow it. */
export const SUBSCRIPTION_HISTORY = 5

/** Attempts of one change against writers that keep winning the race. */
export const MAX_INSIGHT_ATTEMPTS = 20

export interface SubscriptionStart {
  readonly id: string
  readonly controlPlaneInstanceId: string
  readonly connectTime: Date
}

const EMPTY_INSIGHT: DataplaneInsightSpec = { subscriptions: [], other: {} }

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A new stream: its subscription goes last, which is what `isOnline` looks at. */
export function withConnect(
  spec: DataplaneInsightSpec | undefined,
  start: SubscriptionStart
): DataplaneInsightSpec {
  const base = spec ?? EMPTY_INSIGHT
  const subscription: JsonObject = {
    id: start.id,
    controlPlaneInstanceId: start.controlPlaneInstanceId,
    connectTime: rfc3339(start.connectTime),
    status: { total: { responsesSent: 0 } },
  }
  return {
    ...base,
    subscriptions: [...base.subscriptions, subscription].slice(-SUBSCRIPTION_HISTORY),
  }
}

/**
 * The stream is gone: its subscription gets its disconnect time; `undefined` when nothing changes.
 */
export function withDisconnect(
  spec: DataplaneInsightSpec | undefined,
  subscriptionId: string,
  time: Date
): DataplaneInsightSpec | undefined {
  if (spec === undefined) return undefined
  let changed = false
  const subscriptions = spec.subscriptions.map((s) => {
    if (s.id !== subscriptionId || s.disconnectTime !== undefined) return s
    changed = true
    return { ...s, disconnectTime: rfc3339(time) }
  })
  return changed ? { ...spec, subscriptions } : undefined
}

/**
 * One identity handed out. With mTLS on, `mTLS` takes the certificate's facts and the regeneration
 * count goes up by one; with mTLS off it is removed, as Kuma does. A stream's subscription also
 * counts the response and its time.
 */
export function withIssued(
  spec: DataplaneInsightSpec | undefined,
  result: IdentityResult,
  now: Date,
  subscriptionId?: string
): DataplaneInsightSpec {
  const base = spec ?? EMPTY_INSIGHT
  const subscriptions =
    subscriptionId === undefined
      ? base.subscriptions
      : base.subscriptions.map((s) => (s.id === subscriptionId ? withResponseSent(s, now) : s))
  if (result.mode === 'DISABLED') {
    const { mTLS: _dropped, ...rest } = base
    return { ...rest, subscriptions }
  }
  return {
    ...base,
    subscriptions,
    mTLS: {
      certificateExpirationTime: rfc3339(result.expiration),
      lastCertificateRegeneration: result.generation.toISOString(),
      certificateRegenerations: (base.mTLS?.certificateRegenerations ?? 0) + 1,
      issuedBackend: result.backend,
      supportedBackends: [...result.supportedBackends],
    },
  }
}

function withResponseSent(subscription: JsonObject, now: Date): JsonObject {
  const status = isObject(subscription.status) ? subscription.status : {}
  const total = isObject(status.total) ? status.total : {}
  const sent = typeof total.responsesSent === 'number' ? total.responsesSent : 0
  return {
    ...subscription,
    status: {
      ...status,
      lastUpdateTime: rfc3339(now),
      total: { ...total, responsesSent: sent + 1 },
    },
  }
}

export type InsightChange = (
  current: DataplaneInsightSpec | undefined
) => DataplaneInsightSpec | undefined

export interface InsightRecorder {
  /**
   * Applies `change` to the stored insight (creating it when absent); `change` may run several
   * times and returns `undefined` for "nothing to write". Resolves `false` when the write could not
   * be made (logged): the insight is bookkeeping and never fails the identity it describes.
   */
  record(mesh: string, name: string, change: InsightChange): Promise<boolean>
  /** Resolves once every write started so far has settled. */
  idle(): Promise<void>
}

function lostRace(error: unknown): boolean {
  return (
    isMeshcaError(error, 'CONFLICT') ||
    isMeshcaError(error, 'ALREADY_EXISTS') ||
    isMeshcaError(error, 'NOT_FOUND')
  )
}

export function createInsightRecorder(options: {
  readonly resources: ResourceManager
  readonly logger: Logger
}): InsightRecorder {
  const { resources, logger } = options
  // Writes for one data plane queue behind each other on this instance, so that its own writes
  // never race; other instances are handled by the version check.
  const queues = new Map<string, Promise<boolean>>()

  async function write(mesh: string, name: string, change: InsightChange): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        const stored = await resources.get('DataplaneInsight', mesh, name)
        const spec = change(stored?.spec)
        if (spec === undefined) return true
        if (stored === undefined) {
          await resources.create({ type: 'DataplaneInsight', mesh, name, spec })
        } else {
          await resources.update({ ...stored, spec })
        }
        return true
      } catch (error) {
        if (lostRace(error) && attempt < MAX_INSIGHT_ATTEMPTS) {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt))
          continue
        }
        logger.log('warn', 'data plane insight not written', {
          mesh,
          dataplane: name,
          attempts: attempt,
          error: error instanceof Error ? error.message : String(error),
        })
        return false
      }
    }
  }

  return {
    record(mesh, name, change) {
      const key = `${mesh}/${name}`
      const previous = queues.get(key) ?? Promise.resolve(true)
      const next = previous.then(() => write(mesh, name, change))
      queues.set(key, next)
      void next.then(() => {
        if (queues.get(key) === next) queues.delete(key)
      })
      return next
    },
    async idle() {
      while (queues.size > 0) await Promise.all(queues.values())
    },
  }
}
