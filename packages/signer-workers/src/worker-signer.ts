import type {
  ErrorCode,
  IssueOutcome,
  KeyFamily,
  KeyPairBytes,
  KeyType,
  LeafRequest,
  Signer,
  SigningCa,
} from '@meshca/core-mtls'
import { BatchDispatcher } from './batch-dispatcher.ts'
import { DrainEstimate } from './drain-estimate.ts'
import { KeyPool } from './key-pool.ts'
import { KeyPoolRefill } from './key-pool-refill.ts'
import { LaneScheduler } from './lane-scheduler.ts'
import type { LeafKeyFamily } from './leaf/key-family.ts'
import { closedError } from './signer-closed-error.ts'
import { createSignerPool, defaultThreadCount, type SignerPool } from './signer-pool.ts'
import { saturatedError } from './signer-saturated-error.ts'
import { TaskRunner } from './task-runner.ts'
import type { WireErrorCode, WireKeyType } from './wire/protocol.ts'
import { type Caller, type LeafItem, rejectItem } from './work-items.ts'

// The wire's key types and error codes, and the leaf key families, must stay core's; these fail to
// compile if they drift.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const wireKeyTypesAreCore: Same<WireKeyType, KeyType> = true
const wireErrorCodesAreCore: WireErrorCode extends ErrorCode ? true : false = true
const leafKeyFamiliesAreCore: Same<LeafKeyFamily, KeyFamily> = true
void wireKeyTypesAreCore
void wireErrorCodesAreCore
void leafKeyFamiliesAreCore

export interface WorkerSignerOptions {
  /**
   * A pool from `createSignerPool`, shared by the process (piscina's advice for embedders); it must
   * serve this signer only, and `close()` leaves it running. A private pool is created otherwise.
   */
  readonly pool?: SignerPool
  /** Threads of the private pool; `defaultThreadCount()` (cores − 1, at least 1) by default. */
  readonly threads?: number
  /** Nice increment of the private pool's threads (see `SignerPoolOptions`). */
  readonly niceIncrement?: number
  /**
   * Requests waiting for a thread beyond which `issue` fails fast with SIGNER_SATURATED. A batch
   * larger than this is still taken when nothing else waits: its caller already holds it in memory.
   */
  readonly maxQueuedRequests?: number
  /** Most requests one task carries; a batch amortises the cost of crossing threads. */
  readonly maxBatchSize?: number
  /**
   * Pre-generated key pairs kept ready per key type, refilled when nothing waits. RSA key
   * generation (~130 ms per key) is what makes bursts slow; the other types are fast enough inline.
   */
  readonly keyPool?: Partial<Record<KeyType, number>>
  /** Tries per task when its worker thread dies under it (piscina replaces the thread). */
  readonly maxAttempts?: number
  /**
   * A task without an answer after this long is aborted and counts as failed (then retried). Far
   * above any real task: at most 128 certificates, or one RSA key.
   */
  readonly taskTimeoutMs?: number
}

export interface WorkerSignerStats {
  readonly threads: number
  readonly queuedRequests: number
  readonly tasksInFlight: number
  readonly keyPool: Partial<Record<KeyType, number>>
  readonly keysFromPool: number
  readonly retriedTasks: number
  readonly failedTasks: number
}

export interface WorkerSigner extends Signer {
  stats(): WorkerSignerStats
  /** Resolves once every key pool holds its configured depth, or the signer is closed. */
  keyPoolFilled(): Promise<void>
}

export const DEFAULT_MAX_QUEUED_REQUESTS = 10_000
export const DEFAULT_MAX_BATCH_SIZE = 128
export const DEFAULT_TASK_TIMEOUT_MS = 60_000
export const DEFAULT_KEY_POOL: Partial<Record<KeyType, number>> = { RSA_2048: 256 }

/**
 * The Signer port on a piscina pool. Requests from concurrent callers are queued per CA and cut
 * into tasks of up to `maxBatchSize`, so that under load one message carries many certificates
 * while a lone request still leaves at once. The queue is bounded; workers that die are replaced
 * by piscina and their tasks retried, then failed — never left hanging.
 */
export function createWorkerSigner(options: WorkerSignerOptions = {}): WorkerSigner {
  const signer = new PooledSigner(options)
  // A plain object: its methods work unbound (a caller may pass `signer.issue` on), and the
  // internals stay out of reach.
  return {
    generateKeyPair: (keyType) => signer.generateKeyPair(keyType),
    issue: (ca, requests) => signer.issue(ca, requests),
    close: () => signer.close(),
    stats: () => signer.stats(),
    keyPoolFilled: () => signer.keyPoolFilled(),
  }
}

/** Wires the lanes, the dispatcher, the key pool and its refill to the pool, and admits requests. */
class PooledSigner {
  readonly #pool: SignerPool
  readonly #ownsPool: boolean
  readonly #threads: number
  readonly #maxQueued: number
  readonly #keyPool: KeyPool
  readonly #drain = new DrainEstimate()
  readonly #runner: TaskRunner
  readonly #lanes: LaneScheduler
  readonly #refill: KeyPoolRefill
  readonly #dispatcher: BatchDispatcher
  #closed = false
  #keysFromPool = 0

  constructor(options: WorkerSignerOptions) {
    this.#ownsPool = options.pool === undefined
    const pool =
      options.pool ??
      createSignerPool({
        threads: options.threads ?? defaultThreadCount(),
        ...(options.niceIncrement === undefined ? {} : { niceIncrement: options.niceIncrement }),
      })
    this.#pool = pool
    const threads = pool.maxThreads
    this.#threads = threads
    // Two tasks per thread: the next batch waits in piscina while the current one is signed. One
    // slot of piscina's queue stays free for the empty task of onWorkerDestroy.
    const maxInFlight = threads + Math.min(threads, Math.max(0, pool.options.maxQueue - 1))
    this.#maxQueued = options.maxQueuedRequests ?? DEFAULT_MAX_QUEUED_REQUESTS
    this.#keyPool = new KeyPool(options.keyPool ?? DEFAULT_KEY_POOL)
    this.#runner = new TaskRunner(pool, threads, options.taskTimeoutMs ?? DEFAULT_TASK_TIMEOUT_MS)
    const maxBatch = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE
    this.#lanes = new LaneScheduler(maxBatch, () => this.#dispatcher.pump())
    this.#refill = new KeyPoolRefill(this.#keyPool, this.#runner, this.#lanes, threads)
    this.#dispatcher = new BatchDispatcher({
      lanes: this.#lanes,
      runner: this.#runner,
      refill: this.#refill,
      drain: this.#drain,
      threads,
      maxInFlight,
      maxAttempts: options.maxAttempts ?? 2,
    })
    this.#lanes.schedulePump()
  }

  async generateKeyPair(keyType: KeyType): Promise<KeyPairBytes> {
    this.#admit(1)
    const pooled = this.#keyPool.take(keyType)
    if (pooled) {
      this.#keysFromPool++
      this.#lanes.schedulePump()
      return pooled
    }
    return new Promise<KeyPairBytes>((resolve, reject) => {
      const lane = this.#lanes.laneFor(`key:${keyType}`, undefined, keyType)
      this.#lanes.enqueue(lane, [{ kind: 'key', keyType, resolve, reject, attempt: 0 }])
    })
  }

  async issue(ca: SigningCa, requests: readonly LeafRequest[]): Promise<IssueOutcome[]> {
    this.#admit(requests.length)
    if (requests.length === 0) return []
    return new Promise<IssueOutcome[]>((resolve, reject) => {
      const caller: Caller = {
        outcomes: new Array<IssueOutcome>(requests.length),
        remaining: requests.length,
        settled: false,
        resolve,
        reject,
      }
      const keyPool = this.#keyPool
      const items: LeafItem[] = requests.map((request, index) => {
        const subject = request.subjectKey
        const pooledKey = 'generate' in subject ? keyPool.take(subject.generate) : undefined
        if (pooledKey) this.#keysFromPool++
        return { kind: 'leaf', request, pooledKey, caller, index, attempt: 0 }
      })
      this.#lanes.enqueue(this.#lanes.laneFor(`ca:${ca.id}`, ca, undefined), items)
    })
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#dispatcher.close()
    this.#runner.close()
    this.#lanes.clear((item) => rejectItem(item, closedError()))
    this.#refill.close()
    // Tasks already with a thread finish and deliver; then a private pool goes away.
    await this.#runner.idle()
    if (this.#ownsPool) await this.#pool.destroy()
  }

  stats(): WorkerSignerStats {
    return {
      threads: this.#threads,
      queuedRequests: this.#lanes.queued,
      tasksInFlight: this.#runner.inFlight,
      keyPool: this.#keyPool.sizes(),
      keysFromPool: this.#keysFromPool,
      retriedTasks: this.#dispatcher.retriedTasks,
      failedTasks: this.#dispatcher.failedTasks,
    }
  }

  keyPoolFilled(): Promise<void> {
    return this.#refill.filled()
  }

  #admit(count: number): void {
    if (this.#closed) throw closedError()
    const queued = this.#lanes.queued
    if (queued > 0 && queued + count > this.#maxQueued) {
      throw saturatedError(queued, this.#drain.seconds(queued + count, this.#threads))
    }
  }
}
