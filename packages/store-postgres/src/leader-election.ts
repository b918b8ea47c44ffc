/**
 * Leader election for singleton work (the rotation daemon) among the instances that share one
 * database: a session-level advisory lock on a dedicated connection, with a lease on top so that
 * two instances never act as leader at once, even when the old leader has not noticed that its
 * connection died.
 *
 * The rules, in local monotonic time (`performance.now()`):
 * - A leader checks every `heartbeatMs` that its very session still holds the lock. It is leader
 *   until `leaseMs` after it *sent* the last check that confirmed the lock, and steps down at once
 *   when a check fails or says the lock is gone.
 * - The lock can only have been released after that last confirming check ran. A new holder waits
 *   `leaseMs` after its acquisition succeeded before acting, so by then the old leader's lease has
 *   run out, whether or not it ever heard that its connection was killed.
 *
 * Takeover bound after the leader's connection is terminated (`pg_terminate_backend`, a crash, a
 * network cut that the server notices): the server releases the lock when the session ends; a
 * candidate retries every `retryMs`, then waits `leaseMs`. Leadership therefore moves within
 * `retryMs + leaseMs` plus two round trips (6 s with the defaults). For a network cut that the
 * server does not notice, the lock session sets `idle_session_timeout` (PostgreSQL 14+) to
 * `2 × leaseMs`, which bounds how long the server keeps the dead session and its lock.
 *
 * Clocks: only durations on each instance's own monotonic clock are used, never wall time, and
 * never a comparison of two instances' clocks; `LEASE_MARGIN` covers clock rate differences.
 */
import { clearTimeout, setTimeout } from 'node:timers'
import type { Logger, Unsubscribe } from '@meshca/core-mtls'
import { MeshcaError } from '@meshca/core-mtls'
import type { LockSession } from './driver.ts'
import { toStoreError } from './sql-errors.ts'

export interface LeaderElectionOptions {
  /** How often the leader confirms that it still holds the lock; default 1000. */
  readonly heartbeatMs?: number
  /** How long a confirmation keeps an instance leader, and how long a new holder waits; default 5000. */
  readonly leaseMs?: number
  /** How often a candidate tries to take the lock; default 1000. */
  readonly retryMs?: number
}

export interface LeaderElection {
  /** Whether this instance may do the singleton work right now; check before each step of it. */
  isLeader(): boolean
  /** Called with `true` when leadership is gained and `false` when it is lost or given up. */
  onChange(listener: (leader: boolean) => void): Unsubscribe
  /** Gives up leadership (listeners hear `false` first) and stops competing. */
  stop(): Promise<void>
  /** The database server process of the lock session, for diagnostics. */
  sessionPid(): number | undefined
}

export const DEFAULT_HEARTBEAT_MS = 1000
export const DEFAULT_LEASE_MS = 5000
export const DEFAULT_RETRY_MS = 1000
/** Extra wait for a new holder, as a fraction of the lease, for clocks that run at different rates. */
const LEASE_MARGIN = 0.02

export interface LeaderElectionContext {
  readonly name: string
  readonly namespace: number
  readonly key: number
  readonly openSession: (settings: { readonly idleTimeoutMs: number }) => Promise<LockSession>
  readonly logger: Logger
}

type State =
  | { readonly kind: 'candidate' }
  | { readonly kind: 'acquired'; readonly actAt: number; confirmedAt: number }
  | { readonly kind: 'leader'; validUntil: number }
  | { readonly kind: 'stopped' }

interface Timing {
  readonly heartbeatMs: number
  readonly leaseMs: number
  readonly retryMs: number
}

export function startLeaderElection(
  context: LeaderElectionContext,
  options: LeaderElectionOptions = {}
): LeaderElection {
  const election = new Election(context, electionTiming(options))
  election.start()
  // Functions of its own, not the class's methods: a caller may spread it or pass one on unbound.
  return {
    isLeader: () => election.isLeader(),
    onChange: (listener) => election.onChange(listener),
    sessionPid: () => election.sessionPid(),
    stop: () => election.stop(),
  }
}

/** The options with their defaults, checked. */
function electionTiming(options: LeaderElectionOptions): Timing {
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS
  const retryMs = options.retryMs ?? DEFAULT_RETRY_MS
  if (!(heartbeatMs > 0 && retryMs > 0 && leaseMs > 2 * heartbeatMs)) {
    throw new MeshcaError(
      'INVALID',
      'leader election needs positive heartbeatMs and retryMs, and leaseMs above twice heartbeatMs',
      { path: 'leaseMs' }
    )
  }
  return { heartbeatMs, leaseMs, retryMs }
}

/** One contender: its state, its lock session, and the timers that move it on. */
class Election {
  readonly #context: LeaderElectionContext
  readonly #timing: Timing
  readonly #listeners = new Set<(leader: boolean) => void>()
  #state: State = { kind: 'candidate' }
  #session: LockSession | undefined
  #timer: ReturnType<typeof setTimeout> | undefined
  #expiry: ReturnType<typeof setTimeout> | undefined
  #busy: Promise<void> = Promise.resolve()
  #announced = false

  constructor(context: LeaderElectionContext, timing: Timing) {
    this.#context = context
    this.#timing = timing
  }

  start(): void {
    this.#schedule(0)
  }

  isLeader(): boolean {
    return this.#state.kind === 'leader' && performance.now() < this.#state.validUntil
  }

  onChange(listener: (leader: boolean) => void): Unsubscribe {
    this.#listeners.add(listener)
    return () => {
      this.#listeners.delete(listener)
    }
  }

  sessionPid(): number | undefined {
    return this.#session?.backendPid()
  }

  async stop(): Promise<void> {
    if (this.#stopped()) return
    this.#state = { kind: 'stopped' }
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    if (this.#expiry !== undefined) clearTimeout(this.#expiry)
    this.#announce()
    const { heartbeatMs } = this.#timing
    // A step stuck on a dead connection must not hold up the stop: closing the session ends it.
    await Promise.race([this.#busy, delay(heartbeatMs)])
    const old = this.#session
    this.#session = undefined
    if (old === undefined) return
    // Unlock before closing, so that a waiting candidate need not wait for the server to notice;
    // bounded, since the connection may be dead without knowing it.
    const { namespace, key } = this.#context
    await Promise.race([old.unlock(namespace, key).catch(() => {}), delay(heartbeatMs)])
    await old.close().catch(() => {})
  }

  /** A method, not a property read: `stop()` may change the state while a step awaits. */
  #stopped(): boolean {
    return this.#state.kind === 'stopped'
  }

  #announce(): void {
    const leader = this.isLeader()
    if (leader === this.#announced) return
    this.#announced = leader
    const { logger, name } = this.#context
    logger.log('info', leader ? 'became leader' : 'is no longer leader', { name })
    for (const listener of [...this.#listeners]) {
      try {
        listener(leader)
      } catch (error) {
        logger.log('error', 'leader election listener failed', {
          name,
          error: error instanceof Error ? error.message : String(error),
        })
      }
    }
  }

  #schedule(delayMs: number): void {
    if (this.#stopped()) return
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#busy = this.#busy.then(() => this.#step())
    }, delayMs)
    this.#timer.unref()
  }

  /** Fires exactly when the lease runs out, even if the heartbeat is stuck in a dead connection. */
  #watchExpiry(): void {
    if (this.#expiry !== undefined) clearTimeout(this.#expiry)
    if (this.#state.kind !== 'leader') return
    this.#expiry = setTimeout(
      () => {
        this.#expiry = undefined
        if (this.#state.kind !== 'leader') return
        // Timers may fire a little before the monotonic clock reaches the deadline.
        if (this.isLeader()) {
          this.#watchExpiry()
          return
        }
        this.#context.logger.log('warn', 'leader lease ran out without a confirmation', {
          name: this.#context.name,
        })
        void this.#loseLock()
      },
      Math.max(0, this.#state.validUntil - performance.now())
    )
    this.#expiry.unref()
  }

  async #loseLock(): Promise<void> {
    if (this.#stopped()) return
    this.#state = { kind: 'candidate' }
    this.#announce()
    // The old session may still hold the lock on the server: ending it is the only way to be sure.
    const old = this.#session
    this.#session = undefined
    if (old !== undefined) await old.close().catch(() => {})
    this.#schedule(this.#timing.retryMs)
  }

  async #step(): Promise<void> {
    if (this.#stopped()) return
    try {
      const session = await this.#openSession()
      if (session === undefined) return
      if (this.#state.kind === 'candidate') await this.#tryLock(session)
      else await this.#confirm(session)
    } catch (error) {
      if (this.#stopped()) return
      this.#context.logger.log('warn', 'leader election could not reach the database', {
        name: this.#context.name,
        error: toStoreError(error, 'leader election').message,
      })
      await this.#loseLock()
    }
  }

  /** The lock session, opened if there is none; `undefined` when stopped meanwhile. */
  async #openSession(): Promise<LockSession | undefined> {
    if (this.#session !== undefined) return this.#session
    const opened = await this.#context.openSession({ idleTimeoutMs: 2 * this.#timing.leaseMs })
    if (this.#stopped()) {
      await opened.close().catch(() => {})
      return undefined
    }
    this.#session = opened
    return opened
  }

  /** A candidate's attempt to take the lock. */
  async #tryLock(session: LockSession): Promise<void> {
    const { heartbeatMs, leaseMs, retryMs } = this.#timing
    const sentAt = performance.now()
    const locked = await session.tryLock(this.#context.namespace, this.#context.key)
    if (this.#stopped()) return
    if (!locked) {
      this.#schedule(retryMs)
      return
    }
    const now = performance.now()
    if (session.mustWaitLease) {
      this.#state = {
        kind: 'acquired',
        actAt: now + leaseMs * (1 + LEASE_MARGIN),
        confirmedAt: sentAt,
      }
      this.#schedule(Math.min(heartbeatMs, leaseMs))
    } else {
      this.#lead(sentAt)
    }
  }

  /** A holder's check that its very session still holds the lock. */
  async #confirm(session: LockSession): Promise<void> {
    const { heartbeatMs, leaseMs } = this.#timing
    const sentAt = performance.now()
    const held = await session.holds(this.#context.namespace, this.#context.key)
    // Re-read: `stop()` may have run while the check was in flight.
    const current = this.#state
    if (current.kind === 'stopped') return
    if (!held) {
      this.#context.logger.log('warn', 'leader lock was lost', { name: this.#context.name })
      await this.#loseLock()
      return
    }
    if (current.kind === 'acquired') {
      current.confirmedAt = sentAt
      const now = performance.now()
      if (now >= current.actAt && sentAt + leaseMs > now) this.#lead(sentAt)
      else this.#schedule(Math.max(0, Math.min(heartbeatMs, current.actAt - now)))
      return
    }
    if (current.kind === 'leader') {
      current.validUntil = sentAt + leaseMs
      this.#stillLeading()
    }
  }

  /** Leader from now until the lease from `sentAt` runs out. */
  #lead(sentAt: number): void {
    this.#state = { kind: 'leader', validUntil: sentAt + this.#timing.leaseMs }
    this.#stillLeading()
  }

  #stillLeading(): void {
    this.#watchExpiry()
    this.#announce()
    this.#schedule(this.#timing.heartbeatMs)
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}
