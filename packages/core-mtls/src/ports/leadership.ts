import type { Unsubscribe } from './store.ts'

/**
 * Which one of several control plane instances does the singleton work (rotation, sweeps) right
 * now. store-postgres's leader election implements it; a single process is always the leader.
 */
export interface Leadership {
  /** Whether this instance may do the singleton work right now; check before each step of it. */
  isLeader(): boolean
  /** Called with `true` when leadership is gained and `false` when it is lost or given up. */
  onChange(listener: (leader: boolean) => void): Unsubscribe
  /** Gives up leadership (listeners hear `false` first) and stops competing. */
  stop(): Promise<void>
}
