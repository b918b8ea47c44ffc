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

export function startLeaderElection(
  context: LeaderElectionContext,
  options: LeaderElectionOptions = {}
): LeaderElection {
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
  const { logger, namespace, key } = context
  const listeners = new Set<(leader: boolean) => void>()
  let state: State = { kind: 'candidate' }
  let session: LockSession | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  let expiry: ReturnType<typeof setTimeout> | undefined
  let busy: Promise<void> = Promise.resolve()
  let announced = false

  function leaderNow(): boolean {
    return state.kind === 'leader' && performance.now() < state.validUntil
  }

  function announce(): void {
    const leader = leaderNow()
    if (leader === announced) return
    announced = leader
    logger.log('info', leader ? 'became leader' : 'is no longer leader', { name: context.name })
    for (const listener of [...listeners]) {
      try {
        listener(leader)
      } catch (error) {
        logger.log('error', 'leader election listener failed', {
          name: context.name,
          error: error instanceof Error ? error.message : String(error),
        })
      }
    }
  }

  function schedule(delayMs: number): void {
    if (state.kind === 'stopped') return
    if (timer !== undefined) clearTimeout(timer)
    timer = setTimeout(() => {
      timer = undefined
      busy = busy.then(step)
    }, delayMs)
    timer.unref()
  }

  /** Fires exactly when the lease runs out, even if the heartbeat is stuck in a dead connection. */
  function watchExpiry(): void {
    if (expiry !== undefined) clearTimeout(expiry)
    if (state.kind !== 'leader') return
    expiry = setTimeout(
      () => {
        expiry = undefined
        if (state.kind !== 'leader') return
        // Timers may fire a little before the monotonic clock reaches the deadline.
        if (leaderNow()) {
          watchExpiry()
          return
        }
        logger.log('warn', 'leader lease ran out without a confirmation', { name: context.name })
        void loseLock()
      },
      Math.max(0, state.validUntil - performance.now())
    )
    expiry.unref()
  }

  async function loseLock(): Promise<void> {
    if (state.kind === 'stopped') return
    state = { kind: 'candidate' }
    announce()
    // The old session may still hold the lock on the server: ending it is the only way to be sure.
    const old = session
    session = undefined
    if (old !== undefined) await old.close().catch(() => {})
    schedule(retryMs)
  }

  async function step(): Promise<void> {
    if (state.kind === 'stopped') return
    try {
      if (session === undefined) {
        const opened = await context.openSession({ idleTimeoutMs: 2 * leaseMs })
        if ((state as State).kind === 'stopped') {
          await opened.close().catch(() => {})
          return
        }
        session = opened
      }
      if (state.kind === 'candidate') {
        const sentAt = performance.now()
        const locked = await session.tryLock(namespace, key)
        if ((state as State).kind === 'stopped') return
        if (locked) {
          const now = performance.now()
          if (session.mustWaitLease) {
            state = {
              kind: 'acquired',
              actAt: now + leaseMs * (1 + LEASE_MARGIN),
              confirmedAt: sentAt,
            }
            schedule(Math.min(heartbeatMs, leaseMs))
          } else {
            state = { kind: 'leader', validUntil: sentAt + leaseMs }
            watchExpiry()
            announce()
            schedule(heartbeatMs)
          }
        } else {
          schedule(retryMs)
        }
        return
      }
      const sentAt = performance.now()
      const held = await session.holds(namespace, key)
      // Re-read: `stop()` may have run while the check was in flight.
      const current = state as State
      if (current.kind === 'stopped') return
      if (!held) {
        logger.log('warn', 'leader lock was lost', { name: context.name })
        await loseLock()
        return
      }
      if (current.kind === 'acquired') {
        current.confirmedAt = sentAt
        const now = performance.now()
        if (now >= current.actAt && sentAt + leaseMs > now) {
          state = { kind: 'leader', validUntil: sentAt + leaseMs }
          watchExpiry()
          announce()
          schedule(heartbeatMs)
        } else {
          schedule(Math.max(0, Math.min(heartbeatMs, current.actAt - now)))
        }
        return
      }
      if (current.kind === 'leader') {
        current.validUntil = sentAt + leaseMs
        watchExpiry()
        announce()
        schedule(heartbeatMs)
      }
    } catch (error) {
      if ((state as State).kind === 'stopped') return
      logger.log('warn', 'leader election could not reach the database', {
        name: context.name,
        error: toStoreError(error, 'leader election').message,
      })
      await loseLock()
    }
  }

  schedule(0)

  return {
    isLeader: leaderNow,
    onChange(listener) {
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
    sessionPid: () => session?.backendPid(),
    async stop() {
      if (state.kind === 'stopped') return
      state = { kind: 'stopped' }
      if (timer !== undefined) clearTimeout(timer)
      if (expiry !== undefined) clearTimeout(expiry)
      announce()
      // A step stuck on a dead connection must not hold up the stop: closing the session ends it.
      await Promise.race([busy, delay(heartbeatMs)])
      const old = session
      session = undefined
      if (old === undefined) return
      // Unlock before closing, so that a waiting candidate need not wait for the server to notice;
      // bounded, since the connection may be dead without knowing it.
      await Promise.race([old.unlock(namespace, key).catch(() => {}), delay(heartbeatMs)])
      await old.close().catch(() => {})
    },
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}
