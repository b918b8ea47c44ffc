/**
 * Rows read by key, kept in memory and dropped by the database's own change notifications and by
 * this store's own writes.
 *
 * - On PGlite it is exact: the single in-process session queues a commit's notification callbacks
 *   while it runs the commit, so the cached row is dropped before any write can be seen complete.
 * - On PostgreSQL a notification travels on another connection and lands some time after the
 *   commit. The store drops the row of its own write when the write returns, so this instance reads
 *   its own writes; a write through another instance (or SQL sent to the server) shows once its
 *   notification arrives, and never later than `maxAgeMs` after the row was read. It is off unless
 *   asked for, and paused (`pause`/`resume`) while the listen connection is down.
 *
 * A fill races the invalidations that may arrive while its query runs: it carries the generation
 * read before the query started, and is dropped if its key changed in between (the row it brings
 * may be the one that change replaced), or anything was cleared. Changes to other keys let it be.
 */
import { LruMap } from '@meshca/core-mtls/adapter-kit'

/** What `get` answers for a key that is not cached. */
export const NOT_CACHED: unique symbol = Symbol('not cached')

interface Entry<Row> {
  /** `undefined`: the row was read and did not exist. */
  readonly row: Row | undefined
  /** `performance.now()` after which the entry is not answered; Infinity without a maximum age. */
  readonly expiresAt: number
}

/** Changed keys remembered for fills in flight; a fill outlasting more changes than this is dropped. */
const REMEMBERED_CHANGES = 4096

export class RowCache<Row> {
  readonly #rows: LruMap<string, Entry<Row>>
  readonly #maxAgeMs: number
  /** Counts changes; a fill carries the count from before its query. */
  #generation = 0
  /** The count at the latest change of each recently changed key, oldest first. */
  readonly #changedAt = new Map<string, number>()
  /** Fills from before this count are dropped whatever their key (a clear, or a key forgotten). */
  #horizon = 0
  /** While changes may go unannounced: nothing is answered or kept. */
  #paused = false

  /**
   * `maxBytes`: upper bound of the cached rows' sizes (as given to `fill`); 0 caches nothing.
   * `maxAgeMs`: how long a row is answered after it was read; 0 for as long as nothing changes it.
   */
  constructor(maxBytes: number, maxAgeMs = 0) {
    this.#rows = new LruMap(maxBytes)
    this.#maxAgeMs = maxAgeMs
  }

  /** The cached row (`undefined` for a cached absence), or `NOT_CACHED`. */
  get(key: string): Row | undefined | typeof NOT_CACHED {
    const entry = this.#paused ? undefined : this.#rows.get(key)
    if (entry === undefined) return NOT_CACHED
    if (entry.expiresAt !== Number.POSITIVE_INFINITY && performance.now() > entry.expiresAt) {
      this.#rows.delete(key)
      return NOT_CACHED
    }
    return entry.row
  }

  /** To take before the query whose result goes to `fill`. */
  generation(): number {
    return this.#generation
  }

  /**
   * Caches what a query started at `generation` read, unless a change was announced since. `bytes`:
   * what the row costs to keep (its spec's length); a row larger than the whole budget is not kept.
   * `readAt`: when the query started (`performance.now()`), from which the maximum age counts.
   */
  fill(
    key: string,
    generation: number,
    row: Row | undefined,
    bytes: number,
    readAt = performance.now()
  ): void {
    if (this.#paused || generation < this.#horizon) return
    if ((this.#changedAt.get(key) ?? -1) > generation) return
    const expiresAt = this.#maxAgeMs > 0 ? readAt + this.#maxAgeMs : Number.POSITIVE_INFINITY
    this.#rows.set(key, { row, expiresAt }, bytes)
  }

  /** A change to `key` was committed: fills of other keys stand. */
  invalidate(key: string): void {
    this.#generation += 1
    this.#rows.delete(key)
    this.#changedAt.delete(key)
    this.#changedAt.set(key, this.#generation)
    // Bounded: a key forgotten here drops every fill that started before its change.
    if (this.#changedAt.size > REMEMBERED_CHANGES) {
      const [oldest, at] = this.#changedAt.entries().next().value as [string, number]
      this.#changedAt.delete(oldest)
      this.#horizon = Math.max(this.#horizon, at)
    }
  }

  /** Something changed that cannot be pinned to keys (or the store closed). */
  clear(): void {
    this.#generation += 1
    this.#horizon = this.#generation
    this.#changedAt.clear()
    this.#rows.clear()
  }

  /**
   * Changes may go unannounced from now on (the listen connection is down): forgets everything and
   * answers nothing until `resume`.
   */
  pause(): void {
    this.clear()
    this.#paused = true
  }

  /** Changes are announced again: starts empty, and no fill from before takes. */
  resume(): void {
    this.clear()
    this.#paused = false
  }

  get maxBytes(): number {
    return this.#rows.maxWeight
  }

  get size(): number {
    return this.#rows.size
  }

  get bytes(): number {
    return this.#rows.weight
  }
}
