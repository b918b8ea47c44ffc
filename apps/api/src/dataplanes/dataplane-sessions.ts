/**
 * The data planes connected to this instance, each with the identity it holds, in memory only
 * (decision 6): a new connection always gets a fresh certificate, whether the data plane restarted,
 * this control plane restarted, or the data plane came from another instance.
 *
 * A session replaces its data plane's identity and pushes it on the stream:
 * - at `rotateAt` (4/5 of the lifetime plus jitter, decision 18);
 * - when its mesh's mTLS settings change (any difference in `Mesh.mtls`, as Kuma compares them), or
 *   a Secret a CA backend of the mesh uses changes (decision 10), spread over `reissueWindowMs` so
 *   that a fleet does not hit the signer at the same instant;
 * - when its Dataplane's tags change (the SANs come from them).
 * Changes come from the store's `watch`, which reaches every instance sharing the database.
 */
import {
  type DataplaneSpec,
  type IdentityResult,
  isMeshcaError,
  type Logger,
  type MeshcaCore,
  MeshcaError,
  type Store,
  type StoreEvent,
  silentLogger,
  type Unsubscribe,
} from '@meshca/core-mtls'
import { TITLES } from '../http/titles.ts'
import { checkTokenAllows, type TokenClaims, tagsKey } from './dataplane-auth.ts'
import {
  createInsightRecorder,
  type InsightRecorder,
  withConnect,
  withDisconnect,
  withIssued,
} from './dataplane-insights.ts'
import { identityJson } from './identity-json.ts'
import {
  createIssuanceQueue,
  type IssuanceObserver,
  type IssuanceQueue,
  type IssuedIdentity,
  mtlsKey,
} from './issuance-queue.ts'
import { type Cancelable, timerAfter, timerAt } from './timer-at.ts'

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 15_000
export const DEFAULT_REISSUE_WINDOW_MS = 5_000
/** A Mesh and the Secrets written for it arrive as several events: they are handled as one. */
const CHANGE_DEBOUNCE_MS = 100
/** Floor between two issuances for one stream, so that a tiny lifetime cannot make it spin. */
const MIN_ROTATION_DELAY_MS = 500
/** Backoff of a failed re-issue (the data plane keeps its current certificate meanwhile). */
const RETRY_MIN_MS = 1_000
const RETRY_MAX_MS = 60_000
/** How long the last `error` event of a stream may take to write. */
const END_WRITE_TIMEOUT_MS = 1_000

export interface DataplaneIdentityRequest {
  readonly mesh: string
  readonly name: string
  readonly dataplane: DataplaneSpec
  /** Kept to check the data plane again when its Dataplane changes. */
  readonly claims: TokenClaims
  /** CSR flow: every identity of the session certifies this request's key. */
  readonly csr?: string
}

/** Where a session's events go: the SSE stream in the API, a list in unit tests. */
export interface EventSink {
  send(event: string, data: string, id: string): Promise<void>
  comment(text: string): Promise<void>
  /** Ends the stream. */
  close(): void
}

export interface DataplaneSession {
  /** The id of the session's subscription in the data plane's insight. */
  readonly id: string
  readonly mesh: string
  readonly name: string
  /** The identity the data plane holds (or is about to receive). */
  readonly current: IdentityResult
  /** Starts delivering: the current identity at once, then changes and heartbeats. */
  attach(sink: EventSink): void
  /** Resolves once the session ended (client gone, data plane deleted, shutdown). */
  readonly ended: Promise<void>
  /** Ends the session; with `error`, an `error` event tells the data plane why first. */
  end(error?: MeshcaError): Promise<void>
}

export interface DataplaneSessions {
  /** One identity, no session (`POST …/identity`): issued, counted in the insight. */
  issueOnce(request: DataplaneIdentityRequest): Promise<IdentityResult>
  /** Issues the first identity (failing like `issueOnce`) and registers the stream's session. */
  open(request: DataplaneIdentityRequest): Promise<DataplaneSession>
  /** Sessions open on this instance. */
  readonly size: number
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
  readonly maxBatch?: number
  readonly issuanceObserver?: IssuanceObserver
}

interface QueuedEvent {
  readonly event: string
  readonly data: string
}

function errorEventData(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const causes = isMeshcaError(error) ? error.violations : []
  return JSON.stringify({
    title: TITLES.identity,
    details: message,
    ...(causes.length > 0 ? { causes } : {}),
  })
}

function retryAfterMs(error: unknown): number | undefined {
  if (!isMeshcaError(error, 'SIGNER_SATURATED')) return undefined
  const hint = (error as { readonly retryAfterSeconds?: unknown }).retryAfterSeconds
  return (typeof hint === 'number' && Number.isFinite(hint) ? hint : 1) * 1000
}

export function createDataplaneSessions(options: DataplaneSessionsOptions): DataplaneSessions {
  const { core, instanceId } = options
  const logger = options.logger ?? silentLogger
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS
  const reissueWindowMs = options.reissueWindowMs ?? DEFAULT_REISSUE_WINDOW_MS
  const clock = core.ctx.clock
  const random = core.ctx.random
  const queue: IssuanceQueue = createIssuanceQueue({
    core,
    ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
    ...(options.issuanceObserver === undefined ? {} : { observer: options.issuanceObserver }),
  })
  const insights: InsightRecorder = createInsightRecorder({ resources: core.resources, logger })

  const sessions = new Set<Session>()
  /** The same sessions by mesh, and by data plane (`[mesh, name]` as JSON): store events look up. */
  const byMesh = new Map<string, Set<Session>>()
  const byDataplane = new Map<string, Set<Session>>()
  /** The `Mesh.mtls` the watch last saw, per mesh. */
  const watchedMtls = new Map<string, string>()
  /**
   * Bumped (after the write committed) whenever a mesh's mTLS settings or CA Secrets change. An
   * issuance that saw the epoch move while it ran may have read the old settings, and runs again;
   * since only a change moves it, this cannot spin.
   */
  const meshEpochs = new Map<string, number>()
  let unsubscribe: Unsubscribe | undefined
  let closing = false

  const epochOf = (mesh: string) => meshEpochs.get(mesh) ?? 0
  const dataplaneKey = (mesh: string, name: string) => JSON.stringify([mesh, name])
  const sessionsIn = (mesh: string): Session[] => [...(byMesh.get(mesh) ?? [])]
  const sessionsOf = (mesh: string, name: string): Session[] => [
    ...(byDataplane.get(dataplaneKey(mesh, name)) ?? []),
  ]

  function indexed(index: Map<string, Set<Session>>, key: string): Set<Session> {
    let set = index.get(key)
    if (set === undefined) {
      set = new Set()
      index.set(key, set)
    }
    return set
  }

  function register(session: Session): void {
    sessions.add(session)
    indexed(byMesh, session.mesh).add(session)
    indexed(byDataplane, dataplaneKey(session.mesh, session.name)).add(session)
  }

  function unregister(session: Session): void {
    sessions.delete(session)
    for (const [index, key] of [
      [byMesh, session.mesh],
      [byDataplane, dataplaneKey(session.mesh, session.name)],
    ] as const) {
      const set = index.get(key)
      set?.delete(session)
      if (set?.size === 0) index.delete(key)
    }
  }

  function audit(request: DataplaneIdentityRequest, result: IdentityResult, reason: string) {
    logger.log('info', 'data plane identity issued', {
      mesh: request.mesh,
      dataplane: request.name,
      reason,
      ...(result.mode === 'DISABLED'
        ? { mode: 'DISABLED' }
        : {
            backend: result.backend,
            serial: result.serialNumber,
            expiration: result.expiration,
            csr: request.csr !== undefined,
          }),
    })
  }

  interface Session extends DataplaneSession {
    current: IdentityResult
    dataplane: DataplaneSpec
    readonly claims: TokenClaims
    mtlsKey: string
    /** `meshEpochs` when the current identity's issuance started. */
    epoch: number
    /**
     * A re-issue in `delayMs`; with `upToEpoch`, skipped if by then the session holds an identity
     * issued at or after that mesh epoch (another trigger got there first).
     */
    scheduleReissue(delayMs: number, reason: string, upToEpoch?: number): void
    reissue(reason: string, upToEpoch?: number): Promise<void>
    scheduleRotation(): void
    isStale(): boolean
  }

  function createSession(
    request: DataplaneIdentityRequest,
    first: IssuedIdentity,
    epoch: number
  ): Session {
    const id = globalThis.crypto.randomUUID()
    const events: QueuedEvent[] = []
    let sink: EventSink | undefined
    let sequence = 0
    let writing = false
    let rotation: Cancelable | undefined
    let reissueTimer:
      | { readonly at: number; readonly timer: Cancelable; readonly upToEpoch: number | undefined }
      | undefined
    let heartbeat: ReturnType<typeof setInterval> | undefined
    let retryDelay = RETRY_MIN_MS
    let issuing = false
    /** The mesh epoch when the running issuance started. */
    let inflightEpoch = -1
    let again = false
    let closed = false
    let ending = false
    let resolveEnded: () => void = () => {}
    const ended = new Promise<void>((resolve) => {
      resolveEnded = resolve
    })

    function enqueue(event: string, data: string): void {
      if (event === 'identity') {
        // Only the newest identity matters to a data plane that has not read the previous one.
        for (let i = events.length - 1; i >= 0; i--) {
          if (events[i]?.event === 'identity') events.splice(i, 1)
        }
      }
      events.push({ event, data })
      pump()
    }

    function pump(): void {
      if (writing || sink === undefined || closed) return
      const target = sink
      writing = true
      void (async () => {
        try {
          for (let next = events.shift(); next !== undefined; next = events.shift()) {
            if (closed) return
            sequence += 1
            await target.send(next.event, next.data, String(sequence))
          }
        } catch (error) {
          logger.log('warn', 'data plane stream write failed', {
            mesh: session.mesh,
            dataplane: session.name,
            error: error instanceof Error ? error.message : String(error),
          })
          void session.end()
        } finally {
          writing = false
        }
      })()
    }

    function sendHeartbeat(): void {
      // A stream still busy with an event is alive enough; heartbeats must not pile up behind it.
      if (writing || sink === undefined || closed) return
      writing = true
      sink
        .comment('heartbeat')
        .catch(() => undefined)
        .finally(() => {
          writing = false
          pump()
        })
    }

    const session: Session = {
      id,
      mesh: request.mesh,
      name: request.name,
      current: first.result,
      dataplane: request.dataplane,
      claims: request.claims,
      mtlsKey: first.mtlsKey,
      epoch,
      ended,

      attach(target) {
        if (closed || sink !== undefined) return
        sink = target
        if (heartbeatIntervalMs > 0) {
          heartbeat = setInterval(sendHeartbeat, heartbeatIntervalMs)
          heartbeat.unref?.()
        }
        pump()
      },

      isStale() {
        return epochOf(session.mesh) !== session.epoch
      },

      scheduleRotation() {
        rotation?.cancel()
        rotation = undefined
        const current = session.current
        if (closed || current.mode === 'DISABLED') return
        const at = Math.max(
          current.rotateAt.getTime(),
          clock.now().getTime() + MIN_ROTATION_DELAY_MS
        )
        rotation = timerAt(
          at,
          () => clock.now().getTime(),
          () => void session.reissue('the certificate is past 4/5 of its lifetime')
        )
      },

      scheduleReissue(delayMs, reason, upToEpoch) {
        if (closed) return
        const at = Date.now() + delayMs
        const previous = reissueTimer
        // One timer per session: the earlier instant, and the weaker condition, of both requests.
        const merged =
          previous === undefined
            ? upToEpoch
            : previous.upToEpoch === undefined || upToEpoch === undefined
              ? undefined
              : Math.max(previous.upToEpoch, upToEpoch)
        if (previous !== undefined && previous.at <= at) {
          if (merged === previous.upToEpoch) return
          reissueTimer = { ...previous, upToEpoch: merged }
          return
        }
        previous?.timer.cancel()
        reissueTimer = {
          at,
          upToEpoch: merged,
          timer: timerAfter(delayMs, () => {
            const condition = reissueTimer?.upToEpoch
            reissueTimer = undefined
            void session.reissue(reason, condition)
          }),
        }
      },

      async reissue(reason, upToEpoch) {
        if (closed) return
        if (
          upToEpoch !== undefined &&
          (session.epoch >= upToEpoch || (issuing && inflightEpoch >= upToEpoch))
        ) {
          return
        }
        if (issuing) {
          again = true
          return
        }
        issuing = true
        rotation?.cancel()
        try {
          do {
            again = false
            const epochBefore = epochOf(session.mesh)
            inflightEpoch = epochBefore
            const issued = await queue.issue({ ...request, dataplane: session.dataplane })
            if (closed) return
            retryDelay = RETRY_MIN_MS
            const stillDisabled =
              issued.result.mode === 'DISABLED' && session.current.mode === 'DISABLED'
            session.mtlsKey = issued.mtlsKey
            session.epoch = epochBefore
            if (!stillDisabled) {
              const result = issued.result
              session.current = result
              enqueue('identity', JSON.stringify(identityJson(result)))
              audit(request, result, reason)
              await insights.record(session.mesh, session.name, (spec) =>
                withIssued(spec, result, clock.now(), id)
              )
            }
            if (session.isStale()) again = true
          } while (again && !closed)
          session.scheduleRotation()
        } catch (error) {
          if (closed) return
          if (isMeshcaError(error, 'NOT_FOUND')) {
            // The mesh is gone: nothing can be issued any more.
            void session.end(error)
            return
          }
          const saturated = retryAfterMs(error)
          const delay = saturated ?? retryDelay
          retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS)
          logger.log(saturated === undefined ? 'warn' : 'info', 'data plane identity not renewed', {
            mesh: session.mesh,
            dataplane: session.name,
            reason,
            retryInMs: Math.round(delay),
            error: error instanceof Error ? error.message : String(error),
          })
          if (saturated === undefined) enqueue('error', errorEventData(error))
          session.scheduleReissue(delay + random.unit() * RETRY_MIN_MS, reason)
        } finally {
          issuing = false
        }
      },

      async end(error) {
        if (ending) return ended
        ending = true
        if (error !== undefined && sink !== undefined) {
          // Written before `closed` is set so that the data plane learns why; a stalled reader
          // does not hold the session open.
          let timer: ReturnType<typeof setTimeout> | undefined
          await Promise.race([
            sink.send('error', errorEventData(error), String(++sequence)).catch(() => {}),
            new Promise<void>((resolve) => {
              timer = setTimeout(resolve, END_WRITE_TIMEOUT_MS)
            }),
          ])
          clearTimeout(timer)
        }
        closed = true
        rotation?.cancel()
        reissueTimer?.timer.cancel()
        if (heartbeat !== undefined) clearInterval(heartbeat)
        unregister(session)
        sink?.close()
        await insights.record(session.mesh, session.name, (spec) =>
          withDisconnect(spec, id, clock.now())
        )
        logger.log('info', 'data plane disconnected', {
          mesh: session.mesh,
          dataplane: session.name,
          subscription: id,
          ...(error === undefined ? {} : { reason: error.message }),
        })
        resolveEnded()
        return ended
      },
    }
    enqueue('identity', JSON.stringify(identityJson(first.result)))
    return session
  }

  // --- store changes -------------------------------------------------------------------------

  interface PendingMeshChange {
    readonly secrets: Set<string>
  }
  const pendingMeshes = new Map<string, PendingMeshChange>()
  const pendingDataplanes = new Set<string>()

  function onStoreEvent(event: StoreEvent): void {
    const { type, mesh, name } = event.key
    if (type === 'Mesh') {
      noteMeshChange(name)
    } else if (type === 'Secret') {
      if (byMesh.has(mesh)) noteMeshChange(mesh, name)
    } else if (type === 'Dataplane') {
      if (byDataplane.has(dataplaneKey(mesh, name))) {
        noteDataplaneChange(mesh, name)
      }
    }
  }

  function noteMeshChange(mesh: string, secret?: string): void {
    let pending = pendingMeshes.get(mesh)
    if (pending === undefined) {
      pending = { secrets: new Set() }
      pendingMeshes.set(mesh, pending)
      timerAfter(CHANGE_DEBOUNCE_MS, () => {
        pendingMeshes.delete(mesh)
        if (pending !== undefined) void handleMeshChange(mesh, pending)
      })
    }
    if (secret !== undefined) pending.secrets.add(secret)
  }

  async function handleMeshChange(meshName: string, change: PendingMeshChange): Promise<void> {
    try {
      const mesh = await core.meshes.get(meshName)
      if (mesh === undefined) {
        watchedMtls.delete(meshName)
        const gone = new MeshcaError('NOT_FOUND', `the mesh "${meshName}" was deleted`)
        await Promise.all(sessionsIn(meshName).map((s) => s.end(gone)))
        return
      }
      const key = mtlsKey(mesh.spec)
      let caSecretChanged = false
      for (const secret of change.secrets) {
        if ((await core.meshes.secretGuard.usage(meshName, secret)) !== undefined) {
          caSecretChanged = true
        }
      }
      const targets = sessionsIn(meshName).filter((s) => caSecretChanged || s.mtlsKey !== key)
      if (caSecretChanged || watchedMtls.get(meshName) !== key || targets.length > 0) {
        meshEpochs.set(meshName, epochOf(meshName) + 1)
      }
      watchedMtls.set(meshName, key)
      if (targets.length === 0) return
      const reason = caSecretChanged
        ? 'a CA Secret of the mesh has changed'
        : 'Mesh mTLS settings have changed'
      logger.log('info', 'reissuing data plane identities', {
        mesh: meshName,
        dataplanes: targets.length,
        reason,
        windowMs: reissueWindowMs,
      })
      const epoch = epochOf(meshName)
      for (const session of targets) {
        session.scheduleReissue(random.unit() * reissueWindowMs, reason, epoch)
      }
    } catch (error) {
      logger.log('error', 'could not handle a mesh change', {
        mesh: meshName,
        error: error instanceof Error ? error.message : String(error),
      })
    }
  }

  function noteDataplaneChange(mesh: string, name: string): void {
    const key = dataplaneKey(mesh, name)
    if (pendingDataplanes.has(key)) return
    pendingDataplanes.add(key)
    timerAfter(CHANGE_DEBOUNCE_MS, () => {
      pendingDataplanes.delete(key)
      void handleDataplaneChange(mesh, name)
    })
  }

  async function handleDataplaneChange(mesh: string, name: string): Promise<void> {
    const affected = sessionsOf(mesh, name)
    if (affected.length === 0) return
    try {
      const stored = await core.resources.get('Dataplane', mesh, name)
      if (stored === undefined) {
        const gone = new MeshcaError('NOT_FOUND', `the Dataplane "${name}" was deleted`)
        await Promise.all(affected.map((s) => s.end(gone)))
        return
      }
      const tags = tagsKey(stored.spec)
      for (const session of affected) {
        try {
          checkTokenAllows(session.claims, mesh, name, stored.spec)
        } catch (error) {
          void session.end(isMeshcaError(error) ? error : undefined)
          continue
        }
        const changed = tagsKey(session.dataplane) !== tags
        session.dataplane = stored.spec
        if (changed) session.scheduleReissue(0, 'DP tags have changed')
      }
    } catch (error) {
      logger.log('error', 'could not handle a Dataplane change', {
        mesh,
        dataplane: name,
        error: error instanceof Error ? error.message : String(error),
      })
    }
  }

  function ensureWatching(): void {
    if (unsubscribe !== undefined || options.watch === undefined) return
    unsubscribe = options.watch(onStoreEvent, { types: ['Mesh', 'Secret', 'Dataplane'] })
  }

  function refuseWhileClosing(): void {
    if (closing) {
      throw new MeshcaError('STORE_UNAVAILABLE', 'the control plane is shutting down')
    }
  }

  return {
    get size() {
      return sessions.size
    },

    async issueOnce(request) {
      refuseWhileClosing()
      const { result } = await queue.issue(request)
      audit(request, result, 'requested')
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
      ensureWatching()
      const epoch = epochOf(request.mesh)
      const first = await queue.issue(request)
      const session = createSession(request, first, epoch)
      register(session)
      audit(request, first.result, 'new connection')
      const connectTime = clock.now()
      await insights.record(request.mesh, request.name, (spec) =>
        withIssued(
          withConnect(spec, { id: session.id, controlPlaneInstanceId: instanceId, connectTime }),
          first.result,
          connectTime,
          session.id
        )
      )
      logger.log('info', 'data plane connected', {
        mesh: request.mesh,
        dataplane: request.name,
        subscription: session.id,
      })
      if (session.isStale()) session.scheduleReissue(0, 'Mesh mTLS settings have changed')
      session.scheduleRotation()
      return session
    },

    async close() {
      closing = true
      unsubscribe?.()
      unsubscribe = undefined
      await Promise.all([...sessions].map((s) => s.end()))
      await insights.idle()
    },
  }
}
