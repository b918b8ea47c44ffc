import type { Clock } from './runtime.ts'
import { systemClock } from './runtime.ts'

/**
 * The control plane instances serving data plane streams, and when each last said it was alive. A
 * stream dies with its instance without a disconnect being written; the daemon tells those
 * subscriptions apart from live ones by their instance's silence. Times are the registry's own (the
 * database's clock for a shared store), so instances never compare their clocks.
 */
export interface InstanceRegistry {
  /** Records that `id` is alive now. */
  heartbeat(id: string): Promise<void>
  /** The instances heard from within the last `withinMs`. */
  live(withinMs: number): Promise<ReadonlySet<string>>
  /** `id` is shutting down; its streams have ended. */
  remove(id: string): Promise<void>
}

/** The registry of a single process (memory store): every instance it knows shares its clock. */
export function createMemoryInstanceRegistry(clock: Clock = systemClock): InstanceRegistry {
  const heartbeats = new Map<string, number>()
  return {
    async heartbeat(id) {
      heartbeats.set(id, clock.now().getTime())
    },
    async live(withinMs) {
      const since = clock.now().getTime() - withinMs
      return new Set([...heartbeats].filter(([, at]) => at >= since).map(([id]) => id))
    },
    async remove(id) {
      heartbeats.delete(id)
    },
  }
}
