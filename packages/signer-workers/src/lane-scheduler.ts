import type { KeyType, SigningCa } from '@meshca/core-mtls'
import { type Item, itemWeight } from './work-items.ts'

/** Requests for one CA (or one key type): a task only ever carries items of one lane. */
export interface Lane {
  readonly id: string
  readonly ca: SigningCa | undefined
  readonly keyType: KeyType | undefined
  items: Item[]
  head: number
  scheduled: boolean
}

/**
 * The waiting requests, one lane per CA or key type, served in turn: each turn takes one batch off
 * the lane at the front of the ready list and sends that lane to the back while it still has items.
 * Enqueueing schedules the pump (given at construction) once per microtask.
 */
export class LaneScheduler {
  readonly #maxBatch: number
  readonly #pump: () => void
  readonly #lanes = new Map<string, Lane>()
  readonly #ready: Lane[] = []
  #queued = 0
  #pumpScheduled = false
  /** Made once: scheduling the pump allocates nothing. */
  readonly #runPump = (): void => {
    this.#pumpScheduled = false
    this.#pump()
  }

  constructor(maxBatch: number, pump: () => void) {
    this.#maxBatch = maxBatch
    this.#pump = pump
  }

  /** Requests waiting in all lanes. */
  get queued(): number {
    return this.#queued
  }

  laneFor(id: string, ca: SigningCa | undefined, keyType: KeyType | undefined): Lane {
    let lane = this.#lanes.get(id)
    if (!lane) {
      lane = { id, ca, keyType, items: [], head: 0, scheduled: false }
      this.#lanes.set(id, lane)
    }
    return lane
  }

  /** Queues items at the back of their lane, or at its front (and the lane first) for a retry. */
  enqueue(lane: Lane, items: readonly Item[], front = false): void {
    if (front) lane.items.splice(lane.head, 0, ...items)
    else for (const item of items) lane.items.push(item)
    this.#queued += items.length
    if (!lane.scheduled) {
      lane.scheduled = true
      if (front) this.#ready.unshift(lane)
      else this.#ready.push(lane)
    }
    this.schedulePump()
  }

  schedulePump(): void {
    if (this.#pumpScheduled) return
    this.#pumpScheduled = true
    // A microtask lets every issue() of the current tick join the same batch.
    queueMicrotask(this.#runPump)
  }

  /** The lane whose turn it is, off the ready list; undefined when none waits. */
  nextLane(): Lane | undefined {
    return this.#ready.shift()
  }

  /**
   * Takes the next batch off a lane just taken with `nextLane`, and puts the lane back at the end of
   * the ready list while it has items left. The batch may be empty.
   */
  takeBatch(lane: Lane, freeSlots: number): Item[] {
    const batch = this.#cut(lane, freeSlots)
    if (lane.head < lane.items.length) this.#ready.push(lane)
    else {
      lane.scheduled = false
      this.#lanes.delete(lane.id)
    }
    return batch
  }

  #cut(lane: Lane, freeSlots: number): Item[] {
    const maxBatch = this.#maxBatch
    const waiting = lane.items.length - lane.head
    // Spread a small backlog over the free threads; a large one goes in full batches.
    const target = Math.min(maxBatch, Math.max(1, Math.ceil(waiting / freeSlots)))
    const batch: Item[] = []
    let budget = 0
    while (lane.head < lane.items.length && batch.length < target) {
      const item = lane.items[lane.head] as Item
      const weight = itemWeight(item, maxBatch)
      if (batch.length > 0 && budget + weight > maxBatch) break
      batch.push(item)
      budget += weight
      lane.head++
    }
    this.#queued -= batch.length
    if (lane.head === lane.items.length) {
      lane.items = []
      lane.head = 0
    } else if (lane.head > 1024 && lane.head * 2 > lane.items.length) {
      lane.items = lane.items.slice(lane.head)
      lane.head = 0
    }
    return batch
  }

  /** Empties every lane, handing each waiting item to `each`. */
  clear(each: (item: Item) => void): void {
    for (const lane of this.#ready) {
      for (let i = lane.head; i < lane.items.length; i++) each(lane.items[i] as Item)
    }
    this.#ready.length = 0
    this.#lanes.clear()
    this.#queued = 0
  }
}
