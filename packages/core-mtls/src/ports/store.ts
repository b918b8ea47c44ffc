import type { JsonObject, ResourceKey, ResourceType } from '../resources/types.ts'

/** A resource as a store keeps it: the spec is plain JSON that the store never interprets. */
export interface StoredResource {
  readonly type: ResourceType
  readonly mesh: string
  readonly name: string
  /**
   * Opaque; changes on every write, and a key never gets back a version it had (not even when
   * deleted and created again), so readers may cache by key and version. Pass it back to
   * `update`/`delete` for optimistic concurrency.
   */
  readonly version: string
  readonly creationTime: Date
  readonly modificationTime: Date
  readonly spec: JsonObject
}

export const MAX_PAGE_SIZE = 1000
export const DEFAULT_PAGE_SIZE = 100

export interface ListOptions {
  /** Only resources of this mesh; omit for every mesh. */
  readonly mesh?: string
  /** Only resources whose name contains this substring. */
  readonly nameContains?: string
  /** 1…1000; default 100. */
  readonly size?: number
  /** Opaque cursor from a previous page's `next`. */
  readonly offset?: string
}

export interface ListPage {
  /** Ordered by (mesh, name). */
  readonly items: readonly StoredResource[]
  /** Count of all matching resources, across pages. */
  readonly total: number
  /** Offset of the next page, absent on the last one. */
  readonly next?: string
}

export type StoreEventAction = 'create' | 'update' | 'delete'

export interface StoreEvent {
  readonly action: StoreEventAction
  readonly key: ResourceKey
}

export interface WatchOptions {
  readonly types?: readonly ResourceType[]
}

export type Unsubscribe = () => void

/**
 * The persistence port. Errors are MeshcaErrors: NOT_FOUND, ALREADY_EXISTS, CONFLICT (stale
 * version), INVALID (bad key or page options), STORE_UNAVAILABLE, CORRUPTED. What reads return may
 * be shared with other readers (and frozen): readers never change it.
 */
export interface Store {
  /**
   * May answer from a cache: a write made through another instance may show only later (the
   * adapter says how much later).
   */
  get(key: ResourceKey): Promise<StoredResource | undefined>
  /**
   * Never answers from a cache: a page holds every write committed, through any instance, before
   * the call. What must not miss a write (did this Mesh get deleted?) asks here.
   */
  list(type: ResourceType, options?: ListOptions): Promise<ListPage>
  create(key: ResourceKey, spec: JsonObject): Promise<StoredResource>
  /** Fails with CONFLICT unless `expectedVersion` is the stored version. */
  update(key: ResourceKey, spec: JsonObject, expectedVersion: string): Promise<StoredResource>
  /** Fails with NOT_FOUND when absent, CONFLICT when `expectedVersion` is given and stale. */
  delete(key: ResourceKey, expectedVersion?: string): Promise<void>
  /** Delivers events for writes made through any store instance sharing the same data. */
  watch(listener: (event: StoreEvent) => void, options?: WatchOptions): Unsubscribe
  close(): Promise<void>
}
