/**
 * The pure parts of the daemon's bookkeeping: which subscriptions a dead instance left open, and
 * the per-mesh statistics of `MeshInsight` (docs/kuma-compatibility.md §7.2: Kuma's resyncer counts
 * data planes by status, and by issued and supported backend among those whose insight has `mTLS`).
 */
import {
  type DataplaneInsightSpec,
  type DataplaneStat,
  isOnline,
  type JsonObject,
  type MeshInsightSpec,
} from '@meshca/core-mtls'

function rfc3339(date: Date): string {
  return date.toISOString().replace('.000Z', 'Z')
}

/**
 * Closes the open subscriptions of instances not in `live` that connected before `connectedBefore`
 * (a stream that started after the last liveness check is not judged by it). `undefined` when
 * nothing changes.
 */
export function withDeadSubscriptionsClosed(
  spec: DataplaneInsightSpec,
  live: ReadonlySet<string>,
  connectedBefore: Date,
  now: Date
): DataplaneInsightSpec | undefined {
  let changed = false
  const subscriptions = spec.subscriptions.map((s): JsonObject => {
    if (s.disconnectTime !== undefined || typeof s.connectTime !== 'string') return s
    const instance = s.controlPlaneInstanceId
    if (typeof instance === 'string' && live.has(instance)) return s
    const connected = Date.parse(s.connectTime)
    if (!(connected < connectedBefore.getTime())) return s
    changed = true
    return { ...s, disconnectTime: rfc3339(now) }
  })
  return changed ? { ...spec, subscriptions } : undefined
}

interface MutableStat {
  total: number
  online: number
  offline: number
  partiallyDegraded: number
}

const emptyStat = (): MutableStat => ({ total: 0, online: 0, offline: 0, partiallyDegraded: 0 })

function count(stat: MutableStat, online: boolean): void {
  stat.total++
  if (online) stat.online++
  else stat.offline++
}

function sorted(stats: Map<string, MutableStat>): Record<string, DataplaneStat> {
  return Object.fromEntries([...stats].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

/**
 * `dataplanes` counts every Dataplane of the mesh (one without an insight has never connected: it
 * is offline); `mTLS` only those whose insight carries certificate facts, as Kuma's `updateMTLS`.
 */
export function meshInsightOf(
  dataplaneNames: readonly string[],
  insights: ReadonlyMap<string, DataplaneInsightSpec>
): MeshInsightSpec {
  const dataplanes = emptyStat()
  const issued = new Map<string, MutableStat>()
  const supported = new Map<string, MutableStat>()
  for (const name of dataplaneNames) {
    const insight = insights.get(name)
    const online = insight !== undefined && isOnline(insight)
    count(dataplanes, online)
    const mtls = insight?.mTLS
    if (mtls === undefined) continue
    const backend = mtls.issuedBackend ?? ''
    if (!issued.has(backend)) issued.set(backend, emptyStat())
    count(issued.get(backend) as MutableStat, online)
    for (const b of new Set(mtls.supportedBackends ?? [])) {
      if (!supported.has(b)) supported.set(b, emptyStat())
      count(supported.get(b) as MutableStat, online)
    }
  }
  return {
    dataplanes,
    mTLS: { issuedBackends: sorted(issued), supportedBackends: sorted(supported) },
    other: {},
  }
}
