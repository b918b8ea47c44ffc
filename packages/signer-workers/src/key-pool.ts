import type { KeyPairBytes, KeyType } from '@meshca/core-mtls'

/**
 * Pre-generated key pairs, per key type, up to a configured depth. A key leaves the pool exactly
 * once (`take` removes it), so no key is ever handed out twice; keys lost with a failed task are
 * simply dropped.
 */
export class KeyPool {
  readonly #depth: ReadonlyMap<KeyType, number>
  readonly #keys = new Map<KeyType, KeyPairBytes[]>()
  readonly #generating = new Map<KeyType, number>()

  constructor(depth: Partial<Record<KeyType, number>>) {
    const entries: [KeyType, number][] = []
    for (const [keyType, value] of Object.entries(depth) as [KeyType, number | undefined][]) {
      if (value === undefined || value === 0) continue
      if (!Number.isInteger(value) || value < 0) {
        throw new RangeError(`key pool depth for ${keyType} must be a non-negative integer`)
      }
      entries.push([keyType, value])
      this.#keys.set(keyType, [])
    }
    this.#depth = new Map(entries)
  }

  take(keyType: KeyType): KeyPairBytes | undefined {
    return this.#keys.get(keyType)?.pop()
  }

  size(keyType: KeyType): number {
    return this.#keys.get(keyType)?.length ?? 0
  }

  sizes(): Partial<Record<KeyType, number>> {
    return Object.fromEntries([...this.#keys].map(([k, v]) => [k, v.length]))
  }

  /** Keys still to generate for this type, not counting those being generated now. */
  deficit(keyType: KeyType): number {
    const depth = this.#depth.get(keyType) ?? 0
    return Math.max(0, depth - this.size(keyType) - (this.#generating.get(keyType) ?? 0))
  }

  /** Key types whose pool is below its depth, in configuration order. */
  hungry(): KeyType[] {
    return [...this.#depth.keys()].filter((k) => this.deficit(k) > 0)
  }

  full(): boolean {
    for (const [keyType, depth] of this.#depth) if (this.size(keyType) < depth) return false
    return true
  }

  startGenerating(keyType: KeyType, count: number): void {
    this.#generating.set(keyType, (this.#generating.get(keyType) ?? 0) + count)
  }

  /** Records the end of a refill task; `pairs` is empty when it failed. */
  finishGenerating(keyType: KeyType, count: number, pairs: readonly KeyPairBytes[]): void {
    this.#generating.set(keyType, Math.max(0, (this.#generating.get(keyType) ?? 0) - count))
    const keys = this.#keys.get(keyType)
    if (!keys) return
    const depth = this.#depth.get(keyType) ?? 0
    for (const pair of pairs) if (keys.length < depth) keys.push(pair)
  }

  clear(): void {
    for (const keys of this.#keys.values()) keys.length = 0
  }
}
