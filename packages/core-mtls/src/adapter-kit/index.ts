/**
 * @module
 * Building blocks for adapters of the core-mtls ports (stores above all): a bounded LRU map,
 * coalesced concurrent reads, and freezing what a cache hands out. Import from
 * `@meshca/core-mtls/adapter-kit`; the domain API is the package root.
 */
export { type CoalescedRead, coalesceReads } from '../util/coalesce-reads.ts'
export { deepFreeze } from '../util/deep-freeze.ts'
export { frozenDate } from '../util/frozen-date.ts'
export { LruMap } from '../util/lru-map.ts'
