/**
 * Rows read by key, kept in memory and dropped by the database's own change notifications. Only
 * exact where every committed change is announced to this process *before* the writing query
 * returns to anyone — PGlite, whose single in-process session queues its notification callbacks
 * while it runs the commit — so a read can never be answered with a row older than a write that
 * has completed. Over a network (PostgreSQL) a notification arrives some time after the commit, and
 * a cache would show a client an older row than the one it just wrote: there it is not used.
 *
 * A fill races the invalidations that may arrive while its query runs: it carries the generation
 * read before the query started, and is dropped if any invalidation came in between (the row it
 * brings may be the one that change replaced).
 */
import { LruMap } from '@meshca/core-mtls'

/** What `get` answers for a key that is not cached. */
export const NOT_CACHED: unique symbol = Symbol('not cached')

export class RowCache<Row> {
  /** `undefined` values: the row was read and did not exist. */
  readonly #rows: LruMap<string, Row | undefined>
  #generation = 0

  /** `maxBytes`: upper bound of the cached rows' sizes (as given to `fill`); 0 caches nothing. */
  constructor(maxBytes: number) {
    this.#rows = new LruMap(maxBytes)
  }

  /** The cached row (`undefined` for a cached absence), or `NOT_CACHED`. */
  get(key: string): Row | undefined | typeof NOT_CACHED {
    return this.#rows.has(key) ? this.#rows.get(key) : NOT_CACHED
  }

  /** To take before the query whose result goes to `fill`. */
  generation(): number {
    return this.#generation
  }

  /**
   * Caches what a query started at `generation` read, unless a change was announced since. `bytes`:
   * what the row costs to keep (its spec's length); a row larger than the whole budget is not kept.
   */
  fill(key: string, generation: number, row: Row | undefined, bytes: number): void {
    if (generation === this.#generation) this.#rows.set(key, row, bytes)
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
