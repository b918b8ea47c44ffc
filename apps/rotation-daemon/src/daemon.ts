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
  caBackendFor,
  type DataplaneInsightSpec,
  DEFAULT_ORPHAN_GRACE_MS,
  defaultCaBackends,
  type InstanceRegistry,
  isMeshcaError,
  isOnline,
  type Leadership,
  type Logger,
  type MeshcaCore,
  type MeshInsightSpec,
  meshIsStored,
  type Resource,
  reconcileMeshCas,
  type Store,
  storedMeshNames,
  sweepOrphans,
  systemClock,
} from '@meshca/core-mtls'
import { meshInsightOf, withDeadSubscriptionsClosed } from './mesh-insight.ts'
import { DEFAULT_LATENCY_BUCKETS_SECONDS, type Labels, type MetricsRegistry } from './metrics.ts'

export const DEFAULT_DAEMON_INTERVAL_MS = 10_000
/** Three missed heartbeats of the default 5 s: an instance this silent is gone. */
export const DEFAULT_INSTANCE_TIMEOUT_MS = 15_000
export const DEFAULT_CA_EXPIRY_WARNING_MS = 30 * 24 * 3600_000
/** Sweeping reads every mesh-scoped row: once a minute, not every tick. */
export const DEFAULT_ORPHAN_SWEEP_INTERVAL_MS = 60_000
/** A CA warning is repeated at most this often, so that the log is not flooded every tick. */
const WARNING_REPEAT_MS = 24 * 3600_000

export interface RotationDaemonOptions {
  readonly core: MeshcaCore
  readonly store: Store
  readonly instances: InstanceRegistry
  readonly metrics: MetricsRegistry
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

export interface TickReport {
  readonly leader: boolean
  readonly meshes: number
  /** Meshes whose CA material was checked (and created where missing). */
  readonly casEnsured: number
  readonly subscriptionsClosed: number
  readonly meshInsightsWritten: number
  readonly caWarnings: number
  /** Resources of deleted meshes removed: CA material written during their delete, orphans swept. */
  readonly orphansRemoved: number
  readonly errors: number
}

/** What a tick counts as it goes, for its report. */
interface TickCounts {
  casEnsured: number
  subscriptionsClosed: number
  meshInsightsWritten: number
  caWarnings: number
  orphansRemoved: number
}

export interface RotationDaemon {
  isLeader(): boolean
  /** Runs one tick now (after the running one, if any). */
  tick(): Promise<TickReport>
  /** Stops ticking and gives up leadership. */
  close(): Promise<void>
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

export function startRotationDaemon(options: RotationDaemonOptions): RotationDaemon {
  const { core, store, instances, metrics, logger } = options
  const clock = options.clock ?? systemClock
  const caBackends = options.caBackends ?? defaultCaBackends()
  const intervalMs = options.intervalMs ?? DEFAULT_DAEMON_INTERVAL_MS
  const instanceTimeoutMs = options.instanceTimeoutMs ?? DEFAULT_INSTANCE_TIMEOUT_MS
  const caExpiryWarningMs = options.caExpiryWarningMs ?? DEFAULT_CA_EXPIRY_WARNING_MS
  const orphanGraceMs = options.orphanGraceMs ?? DEFAULT_ORPHAN_GRACE_MS
  const orphanSweepIntervalMs = options.orphanSweepIntervalMs ?? DEFAULT_ORPHAN_SWEEP_INTERVAL_MS
  const isLeader = () => options.leadership?.isLeader() ?? true

  const leaderGauge = metrics.gauge(
    'meshca_daemon_leader',
    'Whether this rotation daemon leads (1) and does the writes, or stands by (0).'
  )
  const tickSeconds = metrics.histogram(
    'meshca_daemon_tick_duration_seconds',
    'Time one daemon tick took.',
    DEFAULT_LATENCY_BUCKETS_SECONDS
  )
  const tickErrors = metrics.counter(
    'meshca_daemon_errors_total',
    'Steps of daemon ticks that failed (logged), by step.',
    ['step']
  )
  const closedTotal = metrics.counter(
    'meshca_daemon_subscriptions_closed_total',
    'Data plane subscriptions marked disconnected because their control plane instance went silent.'
  )
  const caExpiry = metrics.gauge(
    'meshca_ca_certificate_expiry_timestamp_seconds',
    'NotAfter of the earliest-ending certificate of each CA backend, in Unix seconds.',
    ['mesh', 'backend']
  )
  const dpExpiry = metrics.gauge(
    'meshca_dataplane_certificate_expiry_timestamp_seconds',
    'NotAfter of the certificate each connected data plane holds, in Unix seconds.',
    ['mesh', 'dataplane']
  )
  const dataplaneCount = metrics.gauge(
    'meshca_dataplanes',
    'Data planes of each mesh by status; online ones hold an open stream.',
    ['mesh', 'status']
  )

  const warnedAt = new Map<string, number>()
  let running: Promise<TickReport> | undefined
  let queued: Promise<TickReport> | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  let closed = false
  let errorCount = 0
  let lastSweep: number | undefined

  function fail(step: string, error: unknown, fields: Record<string, unknown> = {}): void {
    errorCount++
    tickErrors.inc({ step })
    logger.log('error', `rotation daemon: ${step} failed`, { ...fields, error: message(error) })
  }

  /** A mesh deleted while its tick runs: normal, said at debug level, and the rest is skipped. */
  function vanished(mesh: string): 'deleted' {
    logger.log('debug', 'rotation daemon: mesh deleted during the tick', { mesh })
    return 'deleted'
  }

  async function ensureCas(
    mesh: Resource<'Mesh'>,
    counts: TickCounts
  ): Promise<'ensured' | 'none' | 'deleted' | 'failed'> {
    if ((mesh.spec.mtls?.backends ?? []).length === 0) return 'none'
    try {
      const result = await reconcileMeshCas(
        { store, ctx: core.ctx, secrets: core.secrets.system, caBackends },
        mesh.name,
        mesh.spec
      )
      counts.orphansRemoved += result.removed
      return result.meshDeleted ? vanished(mesh.name) : 'ensured'
    } catch (error) {
      fail('ensure CAs', error, { mesh: mesh.name })
      return 'failed'
    }
  }

  /** Gauge values of one tick, set together at its end so that a scrape never sees half a tick. */
  interface Observed {
    readonly caExpiry: [Labels, number][]
    readonly dpExpiry: [Labels, number][]
    readonly dataplanes: [Labels, number][]
  }

  function publish(observed: Observed): void {
    for (const [gauge, rows] of [
      [caExpiry, observed.caExpiry],
      [dpExpiry, observed.dpExpiry],
      [dataplaneCount, observed.dataplanes],
    ] as const) {
      gauge.reset()
      for (const [labels, value] of rows) gauge.set(labels, value)
    }
  }

  /** Counts warnings logged into `counts`; 'deleted' when the mesh turned out to be gone. */
  async function reportCas(
    mesh: Resource<'Mesh'>,
    leader: boolean,
    observed: Observed,
    counts: TickCounts
  ): Promise<'deleted' | undefined> {
    for (const backend of mesh.spec.mtls?.backends ?? []) {
      let notAfter: Date
      try {
        const loaded = await caBackendFor(caBackends, backend.type).load(
          core.ctx,
          mesh.name,
          backend
        )
        notAfter = loaded.validity.notAfter
      } catch (error) {
        // The delete's cascade took the CA since the tick listed the mesh.
        if (!(await meshIsStored(store, mesh.name))) return vanished(mesh.name)
        // Expired or broken CA material: loading refuses it. Leaders say so; every tick until fixed.
        if (leader) fail('load CA', error, { mesh: mesh.name, backend: backend.name })
        continue
      }
      observed.caExpiry.push([
        { mesh: mesh.name, backend: backend.name },
        Math.floor(notAfter.getTime() / 1000),
      ])
      const left = notAfter.getTime() - clock.now().getTime()
      if (!leader || left > caExpiryWarningMs) continue
      const key = `${mesh.name}\u0000${backend.name}\u0000${notAfter.getTime()}`
      const last = warnedAt.get(key)
      if (last !== undefined && clock.now().getTime() - last < WARNING_REPEAT_MS) continue
      warnedAt.set(key, clock.now().getTime())
      counts.caWarnings++
      logger.log('warn', 'CA certificate expires soon: add a new backend and switch to it', {
        mesh: mesh.name,
        backend: backend.name,
        notAfter: notAfter.toISOString(),
        daysLeft: Math.floor(left / (24 * 3600_000)),
      })
    }
    return undefined
  }

  /** Closes what dead instances left open; returns the insights as they now stand. */
  async function closeDeadSubscriptions(
    mesh: string,
    insights: readonly Resource<'DataplaneInsight'>[],
    live: ReadonlySet<string>
  ): Promise<{ specs: Map<string, DataplaneInsightSpec>; closed: number }> {
    const now = clock.now()
    const connectedBefore = new Date(now.getTime() - instanceTimeoutMs)
    const specs = new Map<string, DataplaneInsightSpec>()
    let closedCount = 0
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
        closedCount++
        closedTotal.inc()
        logger.log('info', 'data plane marked offline: its control plane instance is gone', {
          mesh,
          dataplane: insight.name,
        })
      } catch (error) {
        specs.set(insight.name, insight.spec)
        if (!isMeshcaError(error, 'CONFLICT') && !isMeshcaError(error, 'NOT_FOUND')) {
          fail('mark offline', error, { mesh, dataplane: insight.name })
        }
      }
    }
    return { specs, closed: closedCount }
  }

  async function writeMeshInsight(mesh: string, spec: MeshInsightSpec): Promise<boolean> {
    const stored = await core.resources.get('MeshInsight', '', mesh)
    if (stored !== undefined && JSON.stringify(stored.spec) === JSON.stringify(spec)) return false
    try {
      if (stored === undefined) {
        await core.resources.create({ type: 'MeshInsight', mesh: '', name: mesh, spec })
      } else {
        await core.resources.update({ ...stored, spec })
      }
      return true
    } catch (error) {
      // Another writer (a previous leader still finishing its tick): the next tick settles it.
      if (isMeshcaError(error, 'CONFLICT') || isMeshcaError(error, 'ALREADY_EXISTS')) return false
      throw error
    }
  }

  /** One mesh's part of a tick. */
  async function tickMesh(
    mesh: Resource<'Mesh'>,
    live: ReadonlySet<string>,
    observed: Observed,
    counts: TickCounts
  ): Promise<void> {
    // Leadership is checked before each write step: it may be lost in the middle of a tick.
    if (isLeader()) {
      const cas = await ensureCas(mesh, counts)
      if (cas === 'deleted') return
      if (cas === 'ensured') counts.casEnsured++
    }
    if ((await reportCas(mesh, isLeader(), observed, counts)) === 'deleted') return
    const [dataplanes, storedInsights] = await Promise.all([
      core.resources.listAll('Dataplane', mesh.name),
      core.resources.listAll('DataplaneInsight', mesh.name),
    ])
    let specs = new Map(storedInsights.map((i) => [i.name, i.spec]))
    if (isLeader()) {
      const result = await closeDeadSubscriptions(mesh.name, storedInsights, live)
      specs = result.specs
      counts.subscriptionsClosed += result.closed
    }
    const insight = meshInsightOf(
      dataplanes.map((d) => d.name),
      specs
    )
    observed.dataplanes.push(
      [{ mesh: mesh.name, status: 'online' }, insight.dataplanes?.online ?? 0],
      [{ mesh: mesh.name, status: 'offline' }, insight.dataplanes?.offline ?? 0]
    )
    for (const [name, spec] of specs) {
      const expiration = spec.mTLS?.certificateExpirationTime
      if (expiration === undefined || !isOnline(spec)) continue
      observed.dpExpiry.push([
        { mesh: mesh.name, dataplane: name },
        Math.floor(Date.parse(expiration) / 1000),
      ])
    }
    if (isLeader() && (await writeMeshInsight(mesh.name, insight))) counts.meshInsightsWritten++
  }

  async function runTick(): Promise<TickReport> {
    const started = performance.now()
    const leader = isLeader()
    leaderGauge.set(undefined, leader ? 1 : 0)
    const counts: TickCounts = {
      casEnsured: 0,
      subscriptionsClosed: 0,
      meshInsightsWritten: 0,
      caWarnings: 0,
      orphansRemoved: 0,
    }
    const errorsBefore = errorCount
    const meshes = await core.resources.listAll('Mesh')
    const live = await instances.live(instanceTimeoutMs)
    const observed: Observed = { caExpiry: [], dpExpiry: [], dataplanes: [] }
    for (const mesh of meshes) {
      try {
        await tickMesh(mesh, live, observed, counts)
      } catch (error) {
        fail('mesh tick', error, { mesh: mesh.name })
      }
    }
    publish(observed)
    if (isLeader()) {
      // Listed again: a mesh deleted during the tick may have had its MeshInsight written.
      await removeOrphanMeshInsights(await storedMeshNames(store))
      counts.orphansRemoved += await sweepWhenDue()
    }
    tickSeconds.observe(undefined, (performance.now() - started) / 1000)
    return { leader, meshes: meshes.length, ...counts, errors: errorCount - errorsBefore }
  }

  /** Sweeps when the last sweep is `orphanSweepIntervalMs` old; returns how many rows went. */
  async function sweepWhenDue(): Promise<number> {
    const now = clock.now().getTime()
    if (lastSweep !== undefined && now - lastSweep < orphanSweepIntervalMs) return 0
    lastSweep = now
    try {
      const { removed } = await sweepOrphans({ store, clock, graceMs: orphanGraceMs, logger })
      return removed.length
    } catch (error) {
      fail('sweep orphans', error)
      return 0
    }
  }

  async function removeOrphanMeshInsights(meshes: ReadonlySet<string>): Promise<void> {
    for (const insight of await core.resources.listAll('MeshInsight')) {
      if (meshes.has(insight.name)) continue
      try {
        await core.resources.delete('MeshInsight', '', insight.name)
      } catch (error) {
        if (!isMeshcaError(error, 'NOT_FOUND')) fail('remove MeshInsight', error)
      }
    }
  }

  function tick(): Promise<TickReport> {
    if (running === undefined) {
      running = runTick().finally(() => {
        running = undefined
      })
      return running
    }
    // One tick waits behind the running one, shared by everyone who asks meanwhile.
    queued ??= running
      .catch(() => undefined)
      .then(() => {
        queued = undefined
        return tick()
      })
    return queued
  }

  function schedule(delayMs: number): void {
    if (closed) return
    if (timer !== undefined) clearTimeout(timer)
    timer = setTimeout(() => {
      timer = undefined
      tick()
        .catch((error: unknown) => fail('tick', error))
        .finally(() => schedule(intervalMs))
    }, delayMs)
    // The daemon never keeps a process alive on its own.
    if (typeof timer === 'object' && timer !== null && 'unref' in timer) timer.unref()
  }

  const unwatch = store.watch(
    (event) => {
      if (event.action !== 'delete' && isLeader()) schedule(0)
    },
    { types: ['Mesh'] }
  )
  const unlead = options.leadership?.onChange((leader) => {
    leaderGauge.set(undefined, leader ? 1 : 0)
    logger.log('info', leader ? 'rotation daemon leads' : 'rotation daemon stands by')
    if (leader) schedule(0)
  })
  leaderGauge.set(undefined, isLeader() ? 1 : 0)
  schedule(0)

  return {
    isLeader,
    tick,
    async close() {
      closed = true
      if (timer !== undefined) clearTimeout(timer)
      unwatch()
      unlead?.()
      await running?.catch(() => undefined)
      await options.leadership?.stop()
    },
  }
}
