import type { KeyPairBytes, KeyType } from '@meshca/core-mtls'
import type { KeyPool } from './key-pool.ts'
import type { LaneScheduler } from './lane-scheduler.ts'
import type { TaskRunner } from './task-runner.ts'
import { decodeReply } from './wire/result-codec.ts'

/** How many keys one refill task generates: RSA one at a time, so that a burst waits little. */
function refillBatch(keyType: KeyType): number {
  return keyType.startsWith('RSA_') ? 1 : 32
}

/**
 * Fills the key pools in idle time, on at most one task per thread, and tells who waits for them
 * when they are full.
 */
export class KeyPoolRefill {
  readonly #keyPool: KeyPool
  readonly #runner: TaskRunner
  readonly #lanes: LaneScheduler
  readonly #threads: number
  readonly #filledWaiters = new Set<() => void>()
  #pausedUntil = 0
  #closed = false

  constructor(keyPool: KeyPool, runner: TaskRunner, lanes: LaneScheduler, threads: number) {
    this.#keyPool = keyPool
    this.#runner = runner
    this.#lanes = lanes
    this.#threads = threads
  }

  /** Fills the key pools while nothing waits, leaving the pipeline slots free for a burst. */
  refill(): void {
    if (performance.now() < this.#pausedUntil) return
    const keyPool = this.#keyPool
    for (const keyType of keyPool.hungry()) {
      while (this.#runner.inFlight < this.#threads && keyPool.deficit(keyType) > 0) {
        const count = Math.min(refillBatch(keyType), keyPool.deficit(keyType))
        keyPool.startGenerating(keyType, count)
        void this.#run(keyType, count)
      }
    }
  }

  async #run(keyType: KeyType, count: number): Promise<void> {
    let pairs: KeyPairBytes[] = []
    try {
      const reply = decodeReply(
        await this.#runner.run({ kind: 'generate', keyType, count }, []),
        count
      )
      if (reply.kind === 'keys') {
        pairs = reply.keys.map((k) => ({ keyType, spki: k.spki, pkcs8: k.pkcs8 }))
      }
    } catch {
      // A broken pool must not spin: refilling waits a second, requests still report their errors.
      this.#pausedUntil = performance.now() + 1000
      setTimeout(() => this.#lanes.schedulePump(), 1000).unref?.()
    }
    this.#keyPool.finishGenerating(keyType, count, this.#closed ? [] : pairs)
    if (this.#keyPool.full()) for (const wake of this.#filledWaiters) wake()
    this.#lanes.schedulePump()
  }

  /** Resolves once every key pool holds its configured depth, or the refill is closed. */
  filled(): Promise<void> {
    if (this.#keyPool.full()) return Promise.resolve()
    return new Promise((resolve) => {
      const wake = () => {
        if (!this.#keyPool.full() && !this.#closed) return
        this.#filledWaiters.delete(wake)
        resolve()
      }
      this.#filledWaiters.add(wake)
    })
  }

  /** Empties the pools and releases who waits for them; keys still being made are dropped. */
  close(): void {
    this.#closed = true
    this.#keyPool.clear()
    for (const wake of this.#filledWaiters) wake()
  }
}
