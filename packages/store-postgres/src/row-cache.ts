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
 *   asked for, and paused while the listen connection is down.
 *
 * A fill races the invalidations that may arrive while its query runs: it carries the generation
 * read before the query started, and is dropped if any invalidation came in between (the row it
 * brings may be the one that change replaced).
 */
import { LruMap } from '@meshca/core-mtls'

/** What `get` answers for a key that is not cached. */
export const NOT_CACHED: unique symbol = Symbol('not cached')

interface Entry<Row> {
  /** `undefined`: the row was read and did not exist. */
  readonly row: Row | undefined
  /** `performance.now()` after which the entry is not answered; Infinity without a maximum age. */
  readonly expiresAt: number
}

export class RowCache<Row> {
  readonly #rows: LruMap<string, Entry<Row>>
  readonly #maxAgeMs: number
  #generation = 0

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
    const entry = this.#rows.get(key)
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
    if (generation !== this.#generation) return
    const expiresAt = this.#maxAgeMs > 0 ? readAt + this.#maxAgeMs : Number.POSITIVE_INFINITY
    this.#rows.set(key, { row, expiresAt }, bytes)
  }

  /** A change to `key` was committed. */
  invalidate(key: string): void {
    this.#generation += 1
    this.#rows.delete(key)
  }

  /** Something changed that cannot be pinned to keys (or the store closed). */
  clear(): void {
    this.#generation += 1
    this.#rows.clear()
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
