/**
 * Reads by key: coalesced, and answered from a `RowCache` where the driver allows one, which the
 * change notifications and this store's own writes keep current (`row-cache.ts`).
 */
import { setImmediate } from 'node:timers'
import type { ResourceKey } from '@meshca/core-mtls'
import { resourceKeyId } from '@meshca/core-mtls'
import { coalesceReads } from '@meshca/core-mtls/adapter-kit'
import { parseChangePayload } from './change-feed.ts'
import type { StoreDriver } from './driver.ts'
import type { PreparedQuery } from './prepared-query.ts'
import type { GetRow } from './resource-rows.ts'
import { keyPlaceholders } from './resource-rows.ts'
import { NOT_CACHED, RowCache } from './row-cache.ts'

/** What a cached row costs beside its spec: the key, the version and times, the Map entry. */
const CACHED_ROW_OVERHEAD_BYTES = 256

export interface ReadCacheSettings {
  readonly readCacheBytes: number
  /** 0: for as long as nothing changes a row, which only some drivers allow (`SqlStoreSettings`). */
  readonly readCacheMaxAgeMs: number
}

export class ReadCache {
  readonly #driver: StoreDriver
  readonly #rows: RowCache<GetRow>
  readonly #cached: boolean
  readonly #readRow: (key: ResourceKey) => Promise<GetRow | undefined>

  constructor(driver: StoreDriver, get: PreparedQuery<GetRow>, settings: ReadCacheSettings) {
    this.#driver = driver
    this.#rows = new RowCache<GetRow>(
      driver.notifiesBeforeWriteReturns || settings.readCacheMaxAgeMs > 0
        ? settings.readCacheBytes
        : 0,
      settings.readCacheMaxAgeMs
    )
    this.#cached = this.#rows.maxBytes > 0
    // A hot resource (the mesh every request of a client reads) costs one query per round trip, not
    // one per caller.
    this.#readRow = coalesceReads(
      resourceKeyId,
      (key: ResourceKey) => get.first('get', keyPlaceholders(key)),
      // PGlite runs a query on this thread, to its end, before the next request is parsed: started
      // after the I/O phase instead, one query serves every read that phase brought. On a server the
      // reads arriving during the query's round trip share the next one already; a deferred start
      // there only adds latency to a lone read.
      driver.kind === 'pglite' ? { startQuery: (start) => setImmediate(start) } : {}
    )
  }

  /** The row of `key`, `undefined` if there is none. */
  read(key: ResourceKey): Promise<GetRow | undefined> {
    return this.#cached ? this.#readCached(key) : this.#readRow(key)
  }

  /** A change notification arrived: its row is stale (all of them, if it does not say which). */
  changed(payload: string): void {
    if (!this.#cached) return
    const change = parseChangePayload(payload)
    if (change === undefined) this.#rows.clear()
    else this.#rows.invalidate(resourceKeyId(change))
  }

  /**
   * After a write of this store, whatever its outcome (a failed one may have committed, a conflict
   * says the cached row is stale): its notification may come later than its answer (PostgreSQL).
   */
  forgetWritten(key: ResourceKey): void {
    // Where notifications land before the write returns (PGlite), they did this already.
    if (this.#cached && !this.#driver.notifiesBeforeWriteReturns) {
      this.#rows.invalidate(resourceKeyId(key))
    }
  }

  /** Changes may go unannounced from now on: no cached answers until `resume`. */
  pause(): void {
    this.#rows.pause()
  }

  resume(): void {
    this.#rows.resume()
  }

  clear(): void {
    this.#rows.clear()
  }

  // A hot resource costs no query at all when it is cached (see `row-cache.ts`).
  async #readCached(key: ResourceKey): Promise<GetRow | undefined> {
    const id = resourceKeyId(key)
    const hit = this.#rows.get(id)
    if (hit !== NOT_CACHED) return hit
    const generation = this.#rows.generation()
    const uncommitted = this.#driver.uncommittedRuns?.()
    const readAt = performance.now()
    const row = await this.#readRow(key)
    // Read inside a transaction someone else opened: it may never commit, and a rollback says
    // nothing.
    if (this.#driver.uncommittedRuns?.() !== uncommitted) return row
    const specLength = typeof row?.spec === 'string' ? row.spec.length : 0
    this.#rows.fill(id, generation, row, CACHED_ROW_OVERHEAD_BYTES + specLength, readAt)
    return row
  }
}
