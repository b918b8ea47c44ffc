/**
 * A map that keeps the most recently used entries within a weight budget (entry count, bytes):
 * what a cache of rows or of decoded resources needs so that memory stays bounded whatever the
 * number of resources. A Map keeps insertion order, so re-inserting on each hit (unless the key is
 * already the last one) makes its first key the least recently used one.
 */
const NONE: unique symbol = Symbol('none')

export class LruMap<K, V> {
  readonly #maxWeight: number
  readonly #entries = new Map<K, { readonly value: V; readonly weight: number }>()
  #weight = 0
  /** The key of the last entry in order: a hot key read again and again is not moved each time. */
  #newest: K | typeof NONE = NONE

  /** `maxWeight` 0 keeps nothing. */
  constructor(maxWeight: number) {
    this.#maxWeight = Math.max(0, maxWeight)
  }

  /** Whether `key` is present (a stored `undefined` counts), without refreshing it. */
  has(key: K): boolean {
    return this.#entries.has(key)
  }

  /** The value, refreshed as most recently used; `undefined` when absent. */
  get(key: K): V | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    if (this.#newest !== key) {
      this.#entries.delete(key)
      this.#entries.set(key, entry)
      this.#newest = key
    }
    return entry.value
  }

  /** Replaces any value of `key`, then drops the least recently used entries over the budget. */
  set(key: K, value: V, weight = 1): void {
    this.delete(key)
    if (this.#maxWeight === 0 || weight > this.#maxWeight) return
    this.#entries.set(key, { value, weight })
    this.#newest = key
    this.#weight += weight
    while (this.#weight > this.#maxWeight) {
      const oldest = this.#entries.keys().next()
      if (oldest.done === true) break
      this.delete(oldest.value)
    }
  }

  delete(key: K): void {
    const entry = this.#entries.get(key)
    if (entry === undefined) return
    this.#entries.delete(key)
    this.#weight -= entry.weight
    // Not needed for the order (`get` never finds a deleted key), only to let the key go.
    if (this.#newest === key) this.#newest = NONE
  }

  clear(): void {
    this.#entries.clear()
    this.#weight = 0
    this.#newest = NONE
  }

  get maxWeight(): number {
    return this.#maxWeight
  }

  get size(): number {
    return this.#entries.size
  }

  get weight(): number {
    return this.#weight
  }
}
