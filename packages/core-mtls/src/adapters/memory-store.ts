import { MeshcaError } from '../errors.ts'
import type { ListCursor } from '../ports/list-options.ts'
import { checkListOptions, encodeListCursor } from '../ports/list-options.ts'
import type { Clock, Logger } from '../ports/runtime.ts'
import { silentLogger, systemClock } from '../ports/runtime.ts'
import type {
  ListOptions,
  ListPage,
  Store,
  StoredResource,
  StoreEvent,
  StoreEventAction,
  Unsubscribe,
  WatchOptions,
} from '../ports/store.ts'
import type { JsonObject, ResourceKey, ResourceType } from '../resources/types.ts'
import { isMeshScoped, isResourceType, resourceKeyId } from '../resources/types.ts'
import { ViolationList } from '../validation.ts'

/**
 * Rows that several memory stores share, the way several control plane processes share one
 * database. Obtain one from `createMemoryStoreData()`; its content is private to this module.
 */
export interface MemoryStoreData {
  readonly kind: 'memory-store-data'
}

export function createMemoryStoreData(): MemoryStoreData {
  return { kind: 'memory-store-data' }
}

export interface MemoryStoreOptions {
  /** Source of creation and modification times. */
  readonly clock?: Clock
  /** Where errors thrown by watch listeners go, since the writer that caused the event is gone. */
  readonly logger?: Logger
  /** Share rows and events with other memory stores; omit for a private store. */
  readonly data?: MemoryStoreData
}

interface Row {
  readonly type: ResourceType
  readonly mesh: string
  readonly name: string
  readonly version: string
  readonly creationTime: number
  readonly modificationTime: number
  /** The spec kept as JSON text, as Kuma's memory store does: every read parses a fresh copy. */
  readonly specJson: string
}

interface Subscription {
  readonly listener: (event: StoreEvent) => void
  readonly types: ReadonlySet<ResourceType> | undefined
  readonly logger: Logger
}

interface SharedState {
  readonly rows: Map<string, Row>
  /**
   * One counter for the whole store rather than one per row, so that a resource deleted and
   * created again never repeats a version an old reader may still hold.
   */
  lastVersion: number
  readonly subscriptions: Set<Subscription>
}

const sharedStates = new WeakMap<MemoryStoreData, SharedState>()

function stateOf(data: MemoryStoreData): SharedState {
  let state = sharedStates.get(data)
  if (state === undefined) {
    state = { rows: new Map(), lastVersion: 0, subscriptions: new Set() }
    sharedStates.set(data, state)
  }
  return state
}

/**
 * The in-process store of the single-process default and of unit tests (docs/kuma-compatibility.md
 * §10.1).
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): Store {
  const clock = options.clock ?? systemClock
  const logger = options.logger ?? silentLogger
  const state = stateOf(options.data ?? createMemoryStoreData())
  const ownSubscriptions = new Set<Subscription>()
  let closed = false

  function ensureOpen(): void {
    if (closed) throw new MeshcaError('STORE_UNAVAILABLE', 'the store is closed')
  }

  function nextVersion(): string {
    state.lastVersion += 1
    return String(state.lastVersion)
  }

  return {
    async get(key) {
      ensureOpen()
      checkKey(key)
      const row = state.rows.get(resourceKeyId(key))
      return row === undefined ? undefined : toResource(row)
    },

    async list(type, listOptions = {}) {
      ensureOpen()
      return listRows(state.rows, type, listOptions)
    },

    async create(key, spec) {
      ensureOpen()
      checkKey(key)
      const specJson = JSON.stringify(spec)
      const id = resourceKeyId(key)
      if (state.rows.has(id)) {
        throw new MeshcaError('ALREADY_EXISTS', `Resource already exists: ${describeKey(key)}`)
      }
      const now = clock.now().getTime()
      const row: Row = {
        type: key.type,
        mesh: key.mesh,
        name: key.name,
        version: nextVersion(),
        creationTime: now,
        modificationTime: now,
        specJson,
      }
      state.rows.set(id, row)
      publish(state, 'create', key)
      return toResource(row)
    },

    async update(key, spec, expectedVersion) {
      ensureOpen()
      checkKey(key)
      const specJson = JSON.stringify(spec)
      const id = resourceKeyId(key)
      // An update names the version it replaces; none given (untyped callers) matches no row.
      const current = currentRow(state, id, key, expectedVersion ?? '')
      const row: Row = {
        ...current,
        version: nextVersion(),
        // Never before the creation time, even if the injected clock goes backwards.
        modificationTime: Math.max(clock.now().getTime(), current.creationTime),
        specJson,
      }
      state.rows.set(id, row)
      publish(state, 'update', key)
      return toResource(row)
    },

    async delete(key, expectedVersion) {
      ensureOpen()
      checkKey(key)
      const id = resourceKeyId(key)
      currentRow(state, id, key, expectedVersion)
      state.rows.delete(id)
      publish(state, 'delete', key)
    },

    watch(listener, watchOptions: WatchOptions = {}): Unsubscribe {
      ensureOpen()
      const types = watchOptions.types === undefined ? undefined : new Set(watchOptions.types)
      const subscription: Subscription = { listener, types, logger }
      state.subscriptions.add(subscription)
      ownSubscriptions.add(subscription)
      return () => {
        state.subscriptions.delete(subscription)
        ownSubscriptions.delete(subscription)
      }
    },

    async close() {
      closed = true
      for (const subscription of ownSubscriptions) state.subscriptions.delete(subscription)
      ownSubscriptions.clear()
    },
  }
}

/** Tells every watcher of the shared rows about a write. */
function publish(state: SharedState, action: StoreEventAction, key: ResourceKey): void {
  const event: StoreEvent = { action, key: { type: key.type, mesh: key.mesh, name: key.name } }
  const recipients = [...state.subscriptions]
  // After the write's own continuation, in write order: listeners never run inside a write.
  queueMicrotask(() => {
    for (const subscription of recipients) {
      if (!state.subscriptions.has(subscription)) continue
      if (subscription.types !== undefined && !subscription.types.has(key.type)) continue
      try {
        subscription.listener({ action: event.action, key: { ...event.key } })
      } catch (error) {
        subscription.logger.log('error', 'store watch listener failed', {
          action,
          type: key.type,
          mesh: key.mesh,
          name: key.name,
          error: error instanceof Error ? error.message : String(error),
        })
      }
    }
  })
}

/** One page of the rows of `type` that match the options, in (mesh, name) order. */
function listRows(rows: Map<string, Row>, type: ResourceType, options: ListOptions): ListPage {
  const page = checkListOptions(type, options)
  const matching = [...rows.values()]
    .filter(
      (row) =>
        row.type === type &&
        (options.mesh === undefined || row.mesh === options.mesh) &&
        (options.nameContains === undefined || row.name.includes(options.nameContains))
    )
    .sort(compareKeys)
  const after = page.after
  const start =
    after === undefined ? 0 : countWhile(matching, (row) => compareKeys(row, after) <= 0)
  const slice = matching.slice(start, start + page.size)
  const last = slice.at(-1)
  const result: ListPage = { items: slice.map(toResource), total: matching.length }
  return last !== undefined && start + slice.length < matching.length
    ? { ...result, next: encodeListCursor(last) }
    : result
}

/**
 * The row a write replaces: NOT_FOUND without one, CONFLICT when `expectedVersion` is given and
 * is not its version.
 */
function currentRow(
  state: SharedState,
  id: string,
  key: ResourceKey,
  expectedVersion: string | undefined
): Row {
  const current = state.rows.get(id)
  if (current === undefined) {
    throw new MeshcaError('NOT_FOUND', `Resource not found: ${describeKey(key)}`)
  }
  if (expectedVersion !== undefined && current.version !== expectedVersion) {
    throw new MeshcaError('CONFLICT', `Resource conflict: ${describeKey(key)}`)
  }
  return current
}

function describeKey(key: ResourceKey): string {
  return `type=${JSON.stringify(key.type)} name=${JSON.stringify(key.name)} mesh=${JSON.stringify(key.mesh)}`
}

function toResource(row: Row): StoredResource {
  return {
    type: row.type,
    mesh: row.mesh,
    name: row.name,
    version: row.version,
    creationTime: new Date(row.creationTime),
    modificationTime: new Date(row.modificationTime),
    spec: JSON.parse(row.specJson) as JsonObject,
  }
}

function checkKey(key: ResourceKey): void {
  const violations = new ViolationList()
  if (!isResourceType(key.type)) {
    violations.add('type', `unknown resource type ${JSON.stringify(key.type)}`)
  } else if (isMeshScoped(key.type)) {
    if (key.mesh === '') violations.add('mesh', 'cannot be empty')
  } else if (key.mesh !== '') {
    violations.add('mesh', 'must be empty for a global resource')
  }
  if (key.name === '') violations.add('name', 'cannot be empty')
  violations.throwIfAny()
}

function compareKeys(a: ListCursor, b: ListCursor): number {
  return compareCodePoints(a.mesh, b.mesh) || compareCodePoints(a.name, b.name)
}

/**
 * Code point order, which is also UTF-8 byte order: what PostgreSQL's "C" collation gives, so
 * that every adapter orders alike. Plain `<` compares UTF-16 units and differs above U+FFFF.
 */
function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) return codePointRank(x) - codePointRank(y)
  }
  return a.length - b.length
}

/** Moves surrogates (U+D800–U+DFFF, the units of code points above U+FFFF) above U+E000–U+FFFF. */
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800
}

function countWhile<T>(items: readonly T[], predicate: (item: T) => boolean): number {
  let low = 0
  let high = items.length
  // Binary search: `items` is sorted and `predicate` holds on a prefix of it.
  while (low < high) {
    const middle = (low + high) >>> 1
    const item = items[middle]
    if (item !== undefined && predicate(item)) low = middle + 1
    else high = middle
  }
  return low
}
