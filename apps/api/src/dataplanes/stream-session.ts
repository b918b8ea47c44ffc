/**
 * One data plane's identity stream, from its first identity to its end: it replaces the identity at
 * `rotateAt` and whenever the store changes ask for it (see `dataplane-sessions.ts`), retries a
 * failed re-issue with backoff while the data plane keeps its current certificate, and records the
 * subscription in the data plane's insight.
 */
import {
  type Clock,
  type DataplaneSpec,
  type IdentityResult,
  isMeshcaError,
  type Logger,
  type MeshcaError,
  type Random,
} from '@meshca/core-mtls'
import { TITLES } from '../http/titles.ts'
import type { TokenClaims } from './dataplane-auth.ts'
import {
  type InsightRecorder,
  withConnect,
  withDisconnect,
  withIssued,
} from './dataplane-insights.ts'
import { identityJson } from './identity-json.ts'
import { logIssuance } from './issuance-audit.ts'
import type { IssuanceQueue, IssuedIdentity } from './issuance-queue.ts'
import type { MeshEpochs } from './mesh-epochs.ts'
import { type EventSink, SessionOutbox } from './session-outbox.ts'
import { type Cancelable, timerAfter, timerAt } from './timer-at.ts'

/** Floor between two issuances for one stream, so that a tiny lifetime cannot make it spin. */
const MIN_ROTATION_DELAY_MS = 500
/** Backoff of a failed re-issue (the data plane keeps its current certificate meanwhile). */
const RETRY_MIN_MS = 1_000
const RETRY_MAX_MS = 60_000

export interface DataplaneIdentityRequest {
  readonly mesh: string
  readonly name: string
  readonly dataplane: DataplaneSpec
  /** Kept to check the data plane again when its Dataplane changes. */
  readonly claims: TokenClaims
  /** CSR flow: every identity of the session certifies this request's key. */
  readonly csr?: string
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

/** What every session of one `createDataplaneSessions` shares. */
export interface SessionContext {
  readonly queue: IssuanceQueue
  readonly insights: InsightRecorder
  readonly epochs: MeshEpochs
  readonly logger: Logger
  readonly clock: Clock
  readonly random: Random
  readonly heartbeatIntervalMs: number
  /** Called as the session ends, so that store changes no longer find it. */
  forget(session: StreamSession): void
}

interface ReissueTimer {
  readonly at: number
  readonly timer: Cancelable
  readonly upToEpoch: number | undefined
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

/** The earlier instant, and the weaker condition, of two re-issue requests. */
function weakerCondition(previous: ReissueTimer | undefined, upToEpoch: number | undefined) {
  if (previous === undefined) return upToEpoch
  if (previous.upToEpoch === undefined || upToEpoch === undefined) return undefined
  return Math.max(previous.upToEpoch, upToEpoch)
}

export class StreamSession implements DataplaneSession {
  readonly id: string = globalThis.crypto.randomUUID()
  readonly mesh: string
  readonly name: string
  readonly claims: TokenClaims
  readonly ended: Promise<void>
  readonly #request: DataplaneIdentityRequest
  readonly #context: SessionContext
  readonly #outbox: SessionOutbox
  #current: IdentityResult
  #dataplane: DataplaneSpec
  #mtlsKey: string
  /** The mesh epoch when the current identity's issuance started. */
  #epoch: number
  #rotation: Cancelable | undefined
  #reissueTimer: ReissueTimer | undefined
  #retryDelay = RETRY_MIN_MS
  #issuing = false
  /** The mesh epoch when the running issuance started. */
  #inflightEpoch = -1
  #again = false
  #closed = false
  #ending = false
  #resolveEnded: () => void = () => {}

  /** `epoch`: the mesh epoch when the issuance of `first` started. */
  constructor(
    request: DataplaneIdentityRequest,
    first: IssuedIdentity,
    epoch: number,
    context: SessionContext
  ) {
    this.mesh = request.mesh
    this.name = request.name
    this.claims = request.claims
    this.#request = request
    this.#context = context
    this.#current = first.result
    this.#dataplane = request.dataplane
    this.#mtlsKey = first.mtlsKey
    this.#epoch = epoch
    this.ended = new Promise<void>((resolve) => {
      this.#resolveEnded = resolve
    })
    this.#outbox = new SessionOutbox(context.heartbeatIntervalMs, (error) =>
      this.#writeFailed(error)
    )
    this.#outbox.enqueue('identity', JSON.stringify(identityJson(first.result)))
  }

  get current(): IdentityResult {
    return this.#current
  }

  /** The Dataplane the identities are issued for. */
  get dataplane(): DataplaneSpec {
    return this.#dataplane
  }

  /** The mesh's mTLS settings (`mtlsKey`) the current identity was issued under. */
  get mtlsKey(): string {
    return this.#mtlsKey
  }

  attach(sink: EventSink): void {
    if (this.#closed) return
    this.#outbox.attach(sink)
  }

  /** Records the new subscription, with its first identity, in the data plane's insight. */
  async recordConnect(instanceId: string): Promise<void> {
    const { insights, clock } = this.#context
    const connectTime = clock.now()
    const first = this.#current
    await insights.record(this.mesh, this.name, (spec) =>
      withIssued(
        withConnect(spec, { id: this.id, controlPlaneInstanceId: instanceId, connectTime }),
        first,
        connectTime,
        this.id
      )
    )
  }

  /** The stored Dataplane changed: the next identities are for it. */
  useDataplane(dataplane: DataplaneSpec): void {
    this.#dataplane = dataplane
  }

  /** Whether the mesh changed since the current identity's issuance started. */
  isStale(): boolean {
    return this.#context.epochs.of(this.mesh) !== this.#epoch
  }

  scheduleRotation(): void {
    this.#rotation?.cancel()
    this.#rotation = undefined
    const current = this.#current
    if (this.#closed || current.mode === 'DISABLED') return
    const { clock } = this.#context
    const at = Math.max(current.rotateAt.getTime(), clock.now().getTime() + MIN_ROTATION_DELAY_MS)
    this.#rotation = timerAt(
      at,
      () => clock.now().getTime(),
      () => void this.#reissue('the certificate is past 4/5 of its lifetime')
    )
  }

  /**
   * A re-issue in `delayMs`; with `upToEpoch`, skipped if by then the session holds an identity
   * issued at or after that mesh epoch (another trigger got there first).
   */
  scheduleReissue(delayMs: number, reason: string, upToEpoch?: number): void {
    if (this.#closed) return
    const at = Date.now() + delayMs
    const previous = this.#reissueTimer
    // One timer per session: the earlier instant, and the weaker condition, of both requests.
    const merged = weakerCondition(previous, upToEpoch)
    if (previous !== undefined && previous.at <= at) {
      if (merged === previous.upToEpoch) return
      this.#reissueTimer = { ...previous, upToEpoch: merged }
      return
    }
    previous?.timer.cancel()
    this.#reissueTimer = {
      at,
      upToEpoch: merged,
      timer: timerAfter(delayMs, () => {
        const condition = this.#reissueTimer?.upToEpoch
        this.#reissueTimer = undefined
        void this.#reissue(reason, condition)
      }),
    }
  }

  async end(error?: MeshcaError): Promise<void> {
    if (this.#ending) return this.ended
    this.#ending = true
    if (error !== undefined && this.#outbox.attached) {
      // Written before the session closes so that the data plane learns why.
      await this.#outbox.sendLast('error', errorEventData(error))
    }
    this.#closed = true
    this.#rotation?.cancel()
    this.#reissueTimer?.timer.cancel()
    this.#context.forget(this)
    this.#outbox.close()
    const { insights, clock, logger } = this.#context
    await insights.record(this.mesh, this.name, (spec) =>
      withDisconnect(spec, this.id, clock.now())
    )
    logger.log('info', 'data plane disconnected', {
      mesh: this.mesh,
      dataplane: this.name,
      subscription: this.id,
      ...(error === undefined ? {} : { reason: error.message }),
    })
    this.#resolveEnded()
    return this.ended
  }

  async #reissue(reason: string, upToEpoch?: number): Promise<void> {
    if (this.#closed) return
    if (
      upToEpoch !== undefined &&
      (this.#epoch >= upToEpoch || (this.#issuing && this.#inflightEpoch >= upToEpoch))
    ) {
      return
    }
    if (this.#issuing) {
      this.#again = true
      return
    }
    this.#issuing = true
    this.#rotation?.cancel()
    try {
      await this.#issueUntilCurrent(reason)
      if (this.#closed) return
      this.scheduleRotation()
    } catch (error) {
      if (this.#closed) return
      this.#renewalFailed(error, reason)
    } finally {
      this.#issuing = false
    }
  }

  /** Issues again while the mesh changes under the issuance, or another trigger came meanwhile. */
  async #issueUntilCurrent(reason: string): Promise<void> {
    do {
      this.#again = false
      const epochBefore = this.#context.epochs.of(this.mesh)
      this.#inflightEpoch = epochBefore
      const issued = await this.#context.queue.issue({
        ...this.#request,
        dataplane: this.#dataplane,
      })
      if (this.#closed) return
      this.#retryDelay = RETRY_MIN_MS
      const stillDisabled = issued.result.mode === 'DISABLED' && this.#current.mode === 'DISABLED'
      this.#mtlsKey = issued.mtlsKey
      this.#epoch = epochBefore
      if (!stillDisabled) await this.#deliver(issued.result, reason)
      if (this.isStale()) this.#again = true
    } while (this.#again && !this.#closed)
  }

  async #deliver(result: IdentityResult, reason: string): Promise<void> {
    const { insights, clock, logger } = this.#context
    this.#current = result
    this.#outbox.enqueue('identity', JSON.stringify(identityJson(result)))
    logIssuance(logger, this.#request, result, reason)
    await insights.record(this.mesh, this.name, (spec) =>
      withIssued(spec, result, clock.now(), this.id)
    )
  }

  #renewalFailed(error: unknown, reason: string): void {
    if (isMeshcaError(error, 'NOT_FOUND')) {
      // The mesh is gone: nothing can be issued any more.
      void this.end(error)
      return
    }
    const saturated = retryAfterMs(error)
    const delay = saturated ?? this.#retryDelay
    this.#retryDelay = Math.min(this.#retryDelay * 2, RETRY_MAX_MS)
    this.#context.logger.log(
      saturated === undefined ? 'warn' : 'info',
      'data plane identity not renewed',
      {
        mesh: this.mesh,
        dataplane: this.name,
        reason,
        retryInMs: Math.round(delay),
        error: error instanceof Error ? error.message : String(error),
      }
    )
    if (saturated === undefined) this.#outbox.enqueue('error', errorEventData(error))
    this.scheduleReissue(delay + this.#context.random.unit() * RETRY_MIN_MS, reason)
  }

  #writeFailed(error: unknown): void {
    this.#context.logger.log('warn', 'data plane stream write failed', {
      mesh: this.mesh,
      dataplane: this.name,
      error: error instanceof Error ? error.message : String(error),
    })
    void this.end()
  }
}
