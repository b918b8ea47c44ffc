import type {
  Logger,
  ResourceType,
  StoreEvent,
  StoreEventAction,
  Unsubscribe,
  WatchOptions,
} from '@meshca/core-mtls'
import { isResourceType, resourceKeyId } from '@meshca/core-mtls'

/**
 * One change as the trigger announces it (drizzle/0005), as a replay reads it back from a resource's
 * version, and, for a deletion, as its tombstone in the `events` table keeps it.
 */
export interface ChangeRecord {
  readonly seq: bigint
  readonly action: StoreEventAction
  readonly type: ResourceType
  readonly mesh: string
  readonly name: string
  /** The version the write gave the resource; for a delete, the version it had. */
  readonly version: string
}

interface Subscription {
  readonly listener: (event: StoreEvent) => void
  readonly types: ReadonlySet<ResourceType> | undefined
  /** Own writes completed up to this tick happened before the subscription. */
  readonly since: number
}

/** How far back a replay reaches below the last seen event: commits may finish out of seq order. */
const REORDER_SLACK = 1000n
/** Events remembered for de-duplication; far more than REORDER_SLACK worth of events. */
const REMEMBERED = 10_000

export interface ReplaySource {
  /**
   * What was committed with `seq > after`, in seq order: each resource created or updated since, once,
   * in its latest state (a create when it was never updated), and the deletions whose tombstones are
   * still retained.
   */
  changesAfter(after: bigint): Promise<ChangeRecord[]>
  /** The highest sequence value handed out so far. */
  currentSeq(): Promise<bigint>
}

/**
 * Turns the notifications of one listen connection into `watch` events. Notifications arrive in
 * commit order, so every event, this instance's own included, takes that one path and listeners see
 * one order. Two refinements:
 *
 * - A listener sees no event of a write that this instance had completed (returned to its caller)
 *   before the listener subscribed, even though the notification may arrive later: the same
 *   "watch from now on" as the memory store. Writes are recognised by version, and deletions
 *   apart from them (`eventId`).
 * - After the listen connection was lost, `resume` replays what the notifications did not bring,
 *   holding back live notifications until the replay is delivered. The replay reads state, not
 *   history: creates and updates from the resources' versions, deletions from their tombstones in
 *   the `events` table. Several updates of one resource in the gap arrive as one, its latest, and a
 *   resource created and then updated in the gap arrives as an update, as a re-list would say.
 */
export class ChangeFeed {
  readonly #logger: Logger
  readonly #subscriptions = new Set<Subscription>()
  /** Completion tick of own writes whose notification has not been seen yet. */
  readonly #ownWrites = new Map<string, number>()
  #tick = 0
  readonly #delivered = new Set<string>()
  readonly #deliveredOrder: string[] = []
  #deliveredHead = 0
  #lastSeq: bigint | undefined
  #held: ChangeRecord[] | undefined
  #lostAt: number | undefined

  constructor(logger: Logger) {
    this.#logger = logger
  }

  /** Where a replay starts when no event has been seen yet. */
  start(currentSeq: bigint): void {
    // A notification may have come first (LISTEN opens before the sequence is read): what committed
    // before this point is the starting state, not something a replay should announce.
    if (this.#lastSeq === undefined || currentSeq > this.#lastSeq) this.#lastSeq = currentSeq
  }

  get lastSeq(): bigint | undefined {
    return this.#lastSeq
  }

  subscribe(listener: (event: StoreEvent) => void, options: WatchOptions = {}): Unsubscribe {
    const subscription: Subscription = {
      listener,
      types: options.types === undefined ? undefined : new Set(options.types),
      since: this.#tick,
    }
    this.#subscriptions.add(subscription)
    return () => {
      this.#subscriptions.delete(subscription)
    }
  }

  clear(): void {
    this.#subscriptions.clear()
  }

  /** Called when a write of this instance returned successfully. */
  ownWriteCompleted(action: StoreEventAction, version: string): void {
    const id = eventId(action, version)
    // Already delivered: the notification overtook the write's own response.
    if (this.#delivered.has(id)) return
    this.#tick += 1
    this.#ownWrites.set(id, this.#tick)
    // Bounded even if notifications stop for good (a listen connection that never comes back).
    if (this.#ownWrites.size > REMEMBERED) {
      const oldest = this.#ownWrites.keys().next()
      if (oldest.done !== true) this.#ownWrites.delete(oldest.value)
    }
  }

  /** A notification payload from the listen connection. */
  receive(payload: string): void {
    const record = parseChangePayload(payload)
    if (record === undefined) {
      this.#logger.log('warn', 'ignored a malformed store change notification', {
        length: payload.length,
      })
      return
    }
    if (this.#held !== undefined) this.#held.push(record)
    else this.#deliver(record)
  }

  /** The listen connection is gone: live notifications stop until `resume`. */
  lost(): void {
    this.#lostAt ??= performance.now()
    this.#held ??= []
  }

  /**
   * The listen connection is back (LISTEN already issued). Replays what was committed meanwhile,
   * then what arrived live during the replay; says in the log what was missed.
   */
  async resume(source: ReplaySource, retentionMs: number): Promise<void> {
    this.#held ??= []
    const downMs = this.#lostAt === undefined ? 0 : performance.now() - this.#lostAt
    // The version of each key as the replay left it: a held notification of an older version of the
    // same key is an intermediate state the replay folded away.
    const replayedVersion = new Map<string, bigint>()
    try {
      // Inside the try: whatever fails, the notifications held meanwhile are delivered (a resume
      // before `start`, while the schema is still being migrated, cannot read the sequence yet).
      const lastSeq = this.#lastSeq ?? (await source.currentSeq())
      const from = lastSeq > REORDER_SLACK ? lastSeq - REORDER_SLACK : 0n
      const replay = inReplayOrder(await source.changesAfter(from))
      let missed = 0
      for (const record of replay) {
        replayedVersion.set(resourceKeyId(record), BigInt(record.version))
        if (this.#delivered.has(eventId(record.action, record.version))) continue
        this.#deliver(record)
        missed += 1
      }
      // Tombstones are pruned after the retention time: deletions before that are gone.
      const deletionsPruned = downMs >= retentionMs * 0.9
      this.#logger.log(
        'warn',
        deletionsPruned
          ? 'store change events resumed after the listen connection was lost for longer than the event retention; changed resources were replayed, deletions older than the retention were pruned and are not'
          : 'store change events resumed after the listen connection was lost',
        { downMs: Math.round(downMs), retentionMs, missed }
      )
    } finally {
      const held = this.#held ?? []
      this.#held = undefined
      this.#lostAt = undefined
      for (const record of held) {
        const replayed = replayedVersion.get(resourceKeyId(record))
        if (replayed !== undefined && BigInt(record.version) < replayed) continue
        this.#deliver(record)
      }
    }
  }

  #deliver(record: ChangeRecord): void {
    const id = eventId(record.action, record.version)
    if (this.#delivered.has(id)) return
    this.#remember(id)
    if (this.#lastSeq === undefined || record.seq > this.#lastSeq) this.#lastSeq = record.seq
    const completedAt = this.#ownWrites.get(id)
    if (completedAt !== undefined) this.#ownWrites.delete(id)
    const key = { type: record.type, mesh: record.mesh, name: record.name }
    for (const subscription of [...this.#subscriptions]) {
      if (!this.#subscriptions.has(subscription)) continue
      if (subscription.types !== undefined && !subscription.types.has(record.type)) continue
      if (completedAt !== undefined && subscription.since >= completedAt) continue
      try {
        subscription.listener({ action: record.action, key: { ...key } })
      } catch (error) {
        this.#logger.log('error', 'store watch listener failed', {
          action: record.action,
          type: record.type,
          mesh: record.mesh,
          name: record.name,
          error: error instanceof Error ? error.message : String(error),
        })
      }
    }
  }

  #remember(id: string): void {
    this.#delivered.add(id)
    this.#deliveredOrder.push(id)
    if (this.#deliveredOrder.length - this.#deliveredHead > REMEMBERED) {
      const forgotten = this.#deliveredOrder[this.#deliveredHead]
      this.#deliveredHead += 1
      if (forgotten !== undefined) this.#delivered.delete(forgotten)
      // Compact now and then instead of shifting on every event.
      if (this.#deliveredHead > REMEMBERED) {
        this.#deliveredOrder.splice(0, this.#deliveredHead)
        this.#deliveredHead = 0
      }
    }
  }
}

/**
 * One change, however it is told: a version is given once, to one create or update, so the action
 * does not matter there (a row inserted by hand with its own times is notified as a create and
 * replayed as an update); a deletion carries the version the row had, hence its own prefix.
 */
function eventId(action: StoreEventAction, version: string): string {
  return action === 'delete' ? `delete:${version}` : `write:${version}`
}

/**
 * A replay in seq order, except that a tombstone goes before a newer incarnation of its key. A
 * create takes its version when it starts, and one that waited for a concurrent delete of the same
 * key to commit can hold a smaller version than that delete's tombstone seq: in seq order the
 * watcher would hear the create, then the delete, and believe gone a resource that exists.
 */
export function inReplayOrder(records: readonly ChangeRecord[]): ChangeRecord[] {
  const current = new Map<string, ChangeRecord>()
  for (const record of records) {
    if (record.action !== 'delete') current.set(resourceKeyId(record), record)
  }
  const placed = records.map((record, index) => {
    const row = record.action === 'delete' ? current.get(resourceKeyId(record)) : undefined
    const before =
      row !== undefined && BigInt(row.version) > BigInt(record.version) && row.seq < record.seq
    // Sorted by the seq it is delivered at, then tombstones first, then as the source gave them.
    return { record, at: before ? row.seq : record.seq, tombstoneFirst: before ? 0 : 1, index }
  })
  placed.sort((a, b) =>
    a.at !== b.at
      ? a.at < b.at
        ? -1
        : 1
      : a.tombstoneFirst - b.tombstoneFirst || a.index - b.index
  )
  return placed.map((entry) => entry.record)
}

const ACTIONS: ReadonlySet<string> = new Set(['create', 'update', 'delete'])

export function parseChangePayload(payload: string): ChangeRecord | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(payload)
  } catch {
    return undefined
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined
  const { seq, action, type, mesh, name, version } = parsed as Record<string, unknown>
  if (
    typeof seq !== 'string' ||
    !/^[0-9]+$/.test(seq) ||
    typeof action !== 'string' ||
    !ACTIONS.has(action) ||
    !isResourceType(type) ||
    typeof mesh !== 'string' ||
    typeof name !== 'string' ||
    typeof version !== 'string'
  ) {
    return undefined
  }
  return { seq: BigInt(seq), action: action as StoreEventAction, type, mesh, name, version }
}
