/**
 * The data planes connected to this instance, each with the identity it holds, in memory only
 * (decision 6 of docs/decisions.md): a new connection always gets a fresh certificate, whether the
 * data plane restarted, this control plane restarted, or the data plane came from another instance.
 *
 * A session replaces its data plane's identity and pushes it on the stream:
 * - at `rotateAt` (4/5 of the lifetime plus jitter, decision 18 of docs/decisions.md);
 * - when its mesh's mTLS settings change (any difference in `Mesh.mtls`, as Kuma compares them), or
 *   a Secret a CA backend of the mesh uses changes (decision 10 of docs/decisions.md), spread over
 * `reissueWindowMs` so that a fleet does not hit the signer at the same instant;
 * - when its Dataplane's tags change (the SANs come from them).
 * Changes come from the store's `watch`, which reaches every instance sharing the database.
 */
import {
  type IdentityResult,
  type Logger,
  type MeshcaCore,
  MeshcaError,
  type Store,
  silentLogger,
} from '@meshca/core-mtls'
import { ConfigFeed } from './config-feed.ts'
import { createInsightRecorder, withIssued } from './dataplane-insights.ts'
import { logIssuance } from './issuance-audit.ts'
import { createIssuanceQueue, type IssuanceObserver } from './issuance-queue.ts'
import { MeshEpochs } from './mesh-epochs.ts'
import { MESH_MTLS_CHANGED } from './reissue-selection.ts'
import { SessionRegistry } from './session-registry.ts'
import { StoreChangeWatcher } from './store-change-watcher.ts'
import {
  type DataplaneIdentityRequest,
  type DataplaneSession,
  type SessionContext,
  StreamSession,
} from './stream-session.ts'

export type { EventSink } from './session-outbox.ts'
export type { DataplaneIdentityRequest, DataplaneSession } from './stream-session.ts'

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 15_000
export const DEFAULT_REISSUE_WINDOW_MS = 5_000

export interface DataplaneSessions {
  /** One identity, no session (`POST …/identity`): issued, counted in the insight. */
  issueOnce(request: DataplaneIdentityRequest): Promise<IdentityResult>
  /** Issues the first identity (failing like `issueOnce`) and registers the stream's session. */
  open(request: DataplaneIdentityRequest): Promise<DataplaneSession>
  /** Sessions open on this instance. */
  readonly size: number
  /** The configuration streams (`…/config/stream`) of this instance. */
  readonly configs: ConfigFeed
  /** Ends every session (their insights marked disconnected) and stops watching the store. */
  close(): Promise<void>
}

export interface DataplaneSessionsOptions {
  readonly core: MeshcaCore
  /** Store change events (Mesh, Secret, Dataplane); without them only rotation re-issues. */
  readonly watch?: Store['watch']
  readonly logger?: Logger
  /** `controlPlaneInstanceId` of the subscriptions this instance writes. */
  readonly instanceId: string
  readonly heartbeatIntervalMs?: number
  readonly reissueWindowMs?: number
  /** How long a data plane whose stream ended keeps its endpoints in others' configuration. */
  readonly offlineGraceMs?: number
  readonly maxBatch?: number
  readonly issuanceObserver?: IssuanceObserver
}

export function createDataplaneSessions(options: DataplaneSessionsOptions): DataplaneSessions {
  const { core, instanceId } = options
  const logger = options.logger ?? silentLogger
  const clock = core.ctx.clock
  const queue = createIssuanceQueue({
    core,
    ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
    ...(options.issuanceObserver === undefined ? {} : { observer: options.issuanceObserver }),
  })
  const insights = createInsightRecorder({ resources: core.resources, logger })
  const sessions = new SessionRegistry<StreamSession>()
  const epochs = new MeshEpochs()
  const context: SessionContext = {
    queue,
    insights,
    epochs,
    logger,
    clock,
    random: core.ctx.random,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
    forget: (session: StreamSession) => sessions.delete(session),
  }
  const watcher = new StoreChangeWatcher({
    core,
    watch: options.watch,
    sessions,
    epochs,
    logger,
    random: core.ctx.random,
    reissueWindowMs: options.reissueWindowMs ?? DEFAULT_REISSUE_WINDOW_MS,
  })
  const configs = new ConfigFeed({
    core,
    watch: options.watch,
    logger,
    clock,
    heartbeatIntervalMs: context.heartbeatIntervalMs,
    ...(options.offlineGraceMs === undefined ? {} : { offlineGraceMs: options.offlineGraceMs }),
  })
  let closing = false

  function refuseWhileClosing(): void {
    if (closing) {
      throw new MeshcaError('STORE_UNAVAILABLE', 'the control plane is shutting down')
    }
  }

  return {
    get size() {
      return sessions.size
    },
    configs,

    async issueOnce(request) {
      refuseWhileClosing()
      const { result } = await queue.issue(request)
      logIssuance(logger, request, result, 'requested')
      await insights.record(request.mesh, request.name, (spec) =>
        result.mode === 'DISABLED' && spec?.mTLS === undefined
          ? undefined
          : withIssued(spec, result, clock.now())
      )
      return result
    },

    async open(request) {
      refuseWhileClosing()
      // Watching starts before the first issuance, so that no change after it goes unseen.
      watcher.start()
      const epoch = epochs.of(request.mesh)
      const first = await queue.issue(request)
      const session = new StreamSession(request, first, epoch, context)
      sessions.add(session)
      logIssuance(logger, request, first.result, 'new connection')
      await session.recordConnect(instanceId)
      logger.log('info', 'data plane connected', {
        mesh: request.mesh,
        dataplane: request.name,
        subscription: session.id,
      })
      if (session.isStale()) session.scheduleReissue(0, MESH_MTLS_CHANGED)
      session.scheduleRotation()
      return session
    },

    async close() {
      closing = true
      watcher.stop()
      await configs.close()
      await Promise.all(sessions.all().map((s) => s.end()))
      await insights.idle()
    },
  }
}
