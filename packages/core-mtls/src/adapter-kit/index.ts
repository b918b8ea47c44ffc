/**
 * @module
 * Building blocks for adapters of the core-mtls ports (stores and signers): a bounded LRU map,
 * coalesced concurrent reads, freezing what a cache hands out, and joining byte strings. Import from
 * `@meshca/core-mtls/adapter-kit`; the domain API is the package root.
 */
export { concatBytes } from '../util/bytes.ts'
export { type CoalescedRead, coalesceReads } from '../util/coalesce-reads.ts'
export { deepFreeze } from '../util/deep-freeze.ts'
export { frozenDate } from '../util/frozen-date.ts'
export { LruMap } from '../util/lru-map.ts'
