import {
  type CaBackendRegistry,
  type Clock,
  type InstanceRegistry,
  isOnline,
  type Logger,
  type MeshcaCore,
  type Resource,
  reconcileMeshCas,
  type Store,
  storedMeshNames,
  sweepOrphans,
} from '@meshca/core-mtls'
import { CaExpiryReport } from './ca-expiry-report.ts'
import type { DaemonMetrics, Observed, StepFailures } from './daemon-metrics.ts'
import { nothingObserved } from './daemon-metrics.ts'
import { closeDeadSubscriptions } from './dead-subscriptions.ts'
import { meshInsightOf } from './mesh-insight.ts'
import { removeOrphanMeshInsights, writeMeshInsight } from './mesh-insight-store.ts'

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
type TickCounts = {
  -readonly [K in Exclude<keyof TickReport, 'leader' | 'meshes' | 'errors'>]: number
}

export interface DaemonTickOptions {
  readonly core: MeshcaCore
  readonly store: Store
  readonly instances: InstanceRegistry
  readonly caBackends: CaBackendRegistry
  readonly clock: Clock
  readonly logger: Logger
  readonly metrics: DaemonMetrics
  readonly failures: StepFailures
  readonly isLeader: () => boolean
  readonly instanceTimeoutMs: number
  readonly caExpiryWarningMs: number
  readonly orphanGraceMs: number
  readonly orphanSweepIntervalMs: number
}

/** One pass over every mesh; leadership is checked before each write step, as it may be lost. */
export class DaemonTick {
  readonly #options: DaemonTickOptions
  readonly #caReport: CaExpiryReport
  #lastSweep: number | undefined

  constructor(options: DaemonTickOptions) {
    this.#options = options
    this.#caReport = new CaExpiryReport({ ...options, warningMs: options.caExpiryWarningMs })
  }

  async run(): Promise<TickReport> {
    const { core, store, instances, metrics, failures, isLeader } = this.#options
    const started = performance.now()
    const leader = isLeader()
    metrics.leads(leader)
    const counts: TickCounts = {
      casEnsured: 0,
      subscriptionsClosed: 0,
      meshInsightsWritten: 0,
      caWarnings: 0,
      orphansRemoved: 0,
    }
    const errorsBefore = failures.count
    const meshes = await core.resources.listAll('Mesh')
    const live = await instances.live(this.#options.instanceTimeoutMs)
    const observed = nothingObserved()
    for (const mesh of meshes) {
      try {
        await this.#tickMesh(mesh, live, observed, counts)
      } catch (error) {
        failures.fail('mesh tick', error, { mesh: mesh.name })
      }
    }
    metrics.publish(observed)
    if (isLeader()) {
      // Listed again: a mesh deleted during the tick may have had its MeshInsight written.
      await removeOrphanMeshInsights(core, await storedMeshNames(store), failures)
      counts.orphansRemoved += await this.#sweepWhenDue()
    }
    metrics.tickSeconds.observe((performance.now() - started) / 1000)
    return { leader, meshes: meshes.length, ...counts, errors: failures.count - errorsBefore }
  }

  /** One mesh's part of a tick. */
  async #tickMesh(
    mesh: Resource<'Mesh'>,
    live: ReadonlySet<string>,
    observed: Observed,
    counts: TickCounts
  ): Promise<void> {
    const { core, isLeader } = this.#options
    if (isLeader()) {
      const cas = await this.#ensureCas(mesh, counts)
      if (cas === 'deleted') return this.#vanished(mesh.name)
      if (cas === 'ensured') counts.casEnsured++
    }
    const expiry = await this.#caReport.report(mesh, isLeader(), observed)
    counts.caWarnings += expiry.warnings
    if (expiry.deleted) return this.#vanished(mesh.name)
    const [dataplanes, storedInsights] = await Promise.all([
      core.resources.listAll('Dataplane', mesh.name),
      core.resources.listAll('DataplaneInsight', mesh.name),
    ])
    let specs = new Map(storedInsights.map((i) => [i.name, i.spec]))
    if (isLeader()) {
      const result = await closeDeadSubscriptions(this.#options, mesh.name, storedInsights, live)
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
    if (isLeader() && (await writeMeshInsight(core, mesh.name, insight))) {
      counts.meshInsightsWritten++
    }
  }

  async #ensureCas(
    mesh: Resource<'Mesh'>,
    counts: TickCounts
  ): Promise<'ensured' | 'none' | 'deleted' | 'failed'> {
    if ((mesh.spec.mtls?.backends ?? []).length === 0) return 'none'
    const { core, store, caBackends, failures } = this.#options
    try {
      const result = await reconcileMeshCas(
        { store, ctx: core.ctx, secrets: core.secrets.system, caBackends },
        mesh.name,
        mesh.spec
      )
      counts.orphansRemoved += result.removed
      return result.meshDeleted ? 'deleted' : 'ensured'
    } catch (error) {
      failures.fail('ensure CAs', error, { mesh: mesh.name })
      return 'failed'
    }
  }

  /** A mesh deleted while its tick runs: normal, said at debug level, and the rest is skipped. */
  #vanished(mesh: string): void {
    this.#options.logger.log('debug', 'rotation daemon: mesh deleted during the tick', { mesh })
  }

  /** Sweeps when the last sweep is `orphanSweepIntervalMs` old; returns how many rows went. */
  async #sweepWhenDue(): Promise<number> {
    const { store, clock, logger, failures, orphanGraceMs, orphanSweepIntervalMs } = this.#options
    const now = clock.now().getTime()
    if (this.#lastSweep !== undefined && now - this.#lastSweep < orphanSweepIntervalMs) return 0
    this.#lastSweep = now
    try {
      const { removed } = await sweepOrphans({ store, clock, graceMs: orphanGraceMs, logger })
      return removed.length
    } catch (error) {
      failures.fail('sweep orphans', error)
      return 0
    }
  }
}
