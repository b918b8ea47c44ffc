import {
  type ErrorCode,
  type IssueOutcome,
  type KeyPairBytes,
  type KeyType,
  type LeafRequest,
  MeshcaError,
  type Signer,
  type SigningCa,
} from '@meshca/core-mtls'
import { DrainEstimate } from './drain-estimate.ts'
import { KeyPool } from './key-pool.ts'
import { createSignerPool, defaultThreadCount, type SignerPool } from './signer-pool.ts'
import { saturatedError } from './signer-saturated-error.ts'
import type { IssueTask, WireErrorCode, WireKeyType, WorkerTask } from './wire/protocol.ts'
import { encodeLeafRequests, type WireLeafRequest } from './wire/request-codec.ts'
import { decodeReply, type WireFailure } from './wire/result-codec.ts'

// The wire's key types and error codes must stay core's; these fail to compile if they drift.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const wireKeyTypesAreCore: Same<WireKeyType, KeyType> = true
const wireErrorCodesAreCore: WireErrorCode extends ErrorCode ? true : false = true
void wireKeyTypesAreCore
void wireErrorCodesAreCore

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

interface Caller {
  readonly outcomes: IssueOutcome[]
  remaining: number
  settled: boolean
  readonly resolve: (outcomes: IssueOutcome[]) => void
  readonly reject: (error: unknown) => void
}

interface LeafItem {
  readonly kind: 'leaf'
  readonly request: LeafRequest
  /** A pre-generated key taken for this request; it is never put back. */
  readonly pooledKey: KeyPairBytes | undefined
  readonly caller: Caller
  readonly index: number
  attempt: number
}

interface KeyItem {
  readonly kind: 'key'
  readonly keyType: KeyType
  readonly resolve: (pair: KeyPairBytes) => void
  readonly reject: (error: unknown) => void
  attempt: number
}

type Item = LeafItem | KeyItem

/** Requests for one CA (or one key type): a task only ever carries items of one lane. */
interface Lane {
  readonly id: string
  readonly ca: SigningCa | undefined
  readonly keyType: KeyType | undefined
  items: Item[]
  head: number
  scheduled: boolean
}

/** How much of a task's budget an item takes: generating an RSA key is a task on its own. */
function itemWeight(item: Item, maxBatch: number): number {
  const generated =
    item.kind === 'key'
      ? item.keyType
      : 'generate' in item.request.subjectKey && !item.pooledKey
        ? item.request.subjectKey.generate
        : undefined
  return generated?.startsWith('RSA_') ? maxBatch : 1
}

function toMeshcaError(failure: WireFailure): MeshcaError {
  return new MeshcaError(failure.code, failure.message, failure.path ? { path: failure.path } : {})
}

function closedError(): MeshcaError {
  return new MeshcaError('INTERNAL', 'signer is closed')
}

/** How many keys one refill task generates: RSA one at a time, so that a burst waits little. */
function refillBatch(keyType: KeyType): number {
  return keyType.startsWith('RSA_') ? 1 : 32
}

/**
 * The Signer port on a piscina pool. Requests from concurrent callers are queued per CA and cut
 * into tasks of up to `maxBatchSize`, so that under load one message carries many certificates
 * while a lone request still leaves at once. The queue is bounded; workers that die are replaced
 * by piscina and their tasks retried, then failed — never left hanging.
 */
export function createWorkerSigner(options: WorkerSignerOptions = {}): WorkerSigner {
  const ownsPool = options.pool === undefined
  const pool =
    options.pool ??
    createSignerPool({
      threads: options.threads ?? defaultThreadCount(),
      ...(options.niceIncrement === undefined ? {} : { niceIncrement: options.niceIncrement }),
    })
  const threads = pool.maxThreads
  // Two tasks per thread: the next batch waits in piscina while the current one is signed. One
  // slot of piscina's queue stays free for the empty task of onWorkerDestroy.
  const maxInFlight = threads + Math.min(threads, Math.max(0, pool.options.maxQueue - 1))
  const maxQueued = options.maxQueuedRequests ?? DEFAULT_MAX_QUEUED_REQUESTS
  const maxBatch = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE
  const maxAttempts = options.maxAttempts ?? 2
  const taskTimeoutMs = options.taskTimeoutMs ?? DEFAULT_TASK_TIMEOUT_MS
  const keyPool = new KeyPool(options.keyPool ?? DEFAULT_KEY_POOL)
  const drain = new DrainEstimate()

  const lanes = new Map<string, Lane>()
  const ready: Lane[] = []
  /**
   * How many tasks carried each CA's material. The first `threads` tasks for a CA carry it (they
   * likely land on different threads), later ones go without it, and a thread that lacks it asks.
   */
  const caSent = new Map<string, number>()
  let queued = 0
  let inFlight = 0
  let closed = false
  let pumpScheduled = false
  let refillPausedUntil = 0
  let keysFromPool = 0
  let retriedTasks = 0
  let failedTasks = 0
  const settledWaiters = new Set<() => void>()
  const filledWaiters = new Set<() => void>()

  const onPoolError = () => {
    // A thread that fails with no task of ours is replaced by piscina; nothing is waiting on it.
  }
  /**
   * piscina stops replacing threads once one dies before it was ready, and it only starts a thread
   * when a task is submitted. If the last thread dies without a task of ours on it while our tasks
   * wait in piscina's queue, nothing would ever run them: an empty task makes piscina start one.
   */
  const onWorkerDestroy = () => {
    if (closed || inFlight === 0) return
    queueMicrotask(() => {
      if (closed || inFlight === 0 || pool.threads.length >= threads) return
      pool.run({ kind: 'generate', keyType: 'ED25519', count: 0 }).catch(() => {
        // Only the side effect (a new thread) matters.
      })
    })
  }
  pool.on('error', onPoolError)
  pool.on('workerDestroy', onWorkerDestroy)

  function laneFor(id: string, ca: SigningCa | undefined, keyType: KeyType | undefined): Lane {
    let lane = lanes.get(id)
    if (!lane) {
      lane = { id, ca, keyType, items: [], head: 0, scheduled: false }
      lanes.set(id, lane)
    }
    return lane
  }

  function enqueue(lane: Lane, items: readonly Item[], front = false): void {
    if (front) lane.items.splice(lane.head, 0, ...items)
    else for (const item of items) lane.items.push(item)
    queued += items.length
    if (!lane.scheduled) {
      lane.scheduled = true
      if (front) ready.unshift(lane)
      else ready.push(lane)
    }
    schedulePump()
  }

  function schedulePump(): void {
    if (pumpScheduled) return
    pumpScheduled = true
    // A microtask lets every issue() of the current tick join the same batch.
    queueMicrotask(() => {
      pumpScheduled = false
      pump()
    })
  }

  function takeBatch(lane: Lane, freeSlots: number): Item[] {
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
    queued -= batch.length
    if (lane.head === lane.items.length) {
      lane.items = []
      lane.head = 0
    } else if (lane.head > 1024 && lane.head * 2 > lane.items.length) {
      lane.items = lane.items.slice(lane.head)
      lane.head = 0
    }
    return batch
  }

  function pump(): void {
    if (closed) return
    while (inFlight < maxInFlight && ready.length > 0) {
      const lane = ready.shift() as Lane
      const batch = takeBatch(lane, maxInFlight - inFlight)
      if (lane.head < lane.items.length) ready.push(lane)
      else {
        lane.scheduled = false
        lanes.delete(lane.id)
      }
      if (batch.length === 0) continue
      if (lane.ca) void runIssue(lane, batch as LeafItem[], (caSent.get(lane.ca.id) ?? 0) < threads)
      else if (lane.keyType) void runGenerate(lane, batch as KeyItem[])
    }
    if (queued === 0) refill()
  }

  /** Fills the key pools while nothing waits, leaving the pipeline slots free for a burst. */
  function refill(): void {
    if (performance.now() < refillPausedUntil) return
    for (const keyType of keyPool.hungry()) {
      while (inFlight < threads && keyPool.deficit(keyType) > 0) {
        const count = Math.min(refillBatch(keyType), keyPool.deficit(keyType))
        keyPool.startGenerating(keyType, count)
        void runRefill(keyType, count)
      }
    }
  }

  async function runTask(task: WorkerTask, transferList: ArrayBuffer[]): Promise<ArrayBuffer> {
    inFlight++
    // The last line of defence against a hang: a task that neither answers nor fails in time is
    // aborted (piscina then ends its thread) and handled like a task whose thread died.
    const watchdog = new AbortController()
    const timer = setTimeout(
      () => watchdog.abort(new Error(`no answer within ${taskTimeoutMs} ms`)),
      taskTimeoutMs
    )
    timer.unref?.()
    try {
      const reply = await pool.run(task, { transferList, signal: watchdog.signal })
      if (!(reply instanceof ArrayBuffer)) throw new Error('unexpected reply from signer worker')
      return reply
    } catch (error) {
      // piscina reports an abort as such; the reason says more.
      throw watchdog.signal.aborted ? watchdog.signal.reason : error
    } finally {
      clearTimeout(timer)
      inFlight--
      if (inFlight === 0) for (const wake of settledWaiters) wake()
    }
  }

  /** A task failed as a whole (its thread died): retry its items, or fail them for good. */
  function taskFailed(lane: Lane, items: Item[], error: unknown): void {
    const retry = items.filter((item) => ++item.attempt < maxAttempts)
    const give = items.filter((item) => item.attempt >= maxAttempts)
    if (retry.length > 0 && !closed) {
      retriedTasks++
      const again = laneFor(lane.id, lane.ca, lane.keyType)
      enqueue(again, retry, true)
    }
    const failures = closed ? items : give
    if (failures.length === 0) return
    failedTasks++
    const detail = error instanceof Error ? error.message : String(error)
    const failure = closed
      ? closedError()
      : new MeshcaError('INTERNAL', `signer worker failed: ${detail}`, { cause: error })
    for (const item of failures) {
      if (item.kind === 'key') item.reject(failure)
      else settle(item, { ok: false, error: failure })
    }
  }

  function settle(item: LeafItem, outcome: IssueOutcome): void {
    const caller = item.caller
    if (caller.settled) return
    caller.outcomes[item.index] = outcome
    if (--caller.remaining === 0) {
      caller.settled = true
      caller.resolve(caller.outcomes)
    }
  }

  function caMaterial(ca: SigningCa): { certificate: ArrayBuffer; privateKey: ArrayBuffer } {
    // Tight copies: the caller's arrays stay intact, and only these bytes cross the boundary.
    return {
      certificate: ca.certificate.slice().buffer,
      privateKey: ca.privateKey.slice().buffer,
    }
  }

  async function runIssue(lane: Lane, items: LeafItem[], withMaterial: boolean): Promise<void> {
    const ca = lane.ca as SigningCa
    const wire: WireLeafRequest[] = items.map((item) =>
      item.pooledKey ? { ...item.request, subjectKey: { spki: item.pooledKey.spki } } : item.request
    )
    const requests = encodeLeafRequests(wire)
    const material = withMaterial ? caMaterial(ca) : undefined
    if (withMaterial) {
      if (caSent.size > 4096) caSent.clear()
      caSent.set(ca.id, (caSent.get(ca.id) ?? 0) + 1)
    }
    const task: IssueTask = {
      kind: 'issue',
      caId: ca.id,
      ca: material,
      requests,
      count: items.length,
    }
    let buffer: ArrayBuffer
    try {
      buffer = await runTask(
        task,
        material ? [requests, material.certificate, material.privateKey] : [requests]
      )
    } catch (error) {
      taskFailed(lane, items, error)
      schedulePump()
      return
    }
    const reply = decodeReply(buffer, items.length)
    if (reply.kind === 'ca-missing') {
      // This thread has not seen the CA (or replaced one that had): same batch, with the material.
      if (closed) for (const item of items) settle(item, { ok: false, error: closedError() })
      else void runIssue(lane, items, true)
      return
    }
    if (reply.kind === 'issued') {
      drain.record(items.length, reply.elapsedMs)
      reply.outcomes.forEach((outcome, i) => {
        const item = items[i] as LeafItem
        if (!outcome.ok) {
          settle(item, { ok: false, error: toMeshcaError(outcome.failure) })
          return
        }
        const privateKey = item.pooledKey?.pkcs8 ?? outcome.privateKey
        const leaf = privateKey
          ? { certificate: outcome.certificate, privateKey }
          : { certificate: outcome.certificate }
        settle(item, { ok: true, leaf })
      })
    } else if (reply.kind === 'ca-failed') {
      caSent.delete(ca.id)
      const error = toMeshcaError(reply.failure)
      for (const item of items) settle(item, { ok: false, error })
    }
    schedulePump()
  }

  async function runGenerate(lane: Lane, items: KeyItem[]): Promise<void> {
    const keyType = lane.keyType as KeyType
    let buffer: ArrayBuffer
    try {
      buffer = await runTask({ kind: 'generate', keyType, count: items.length }, [])
    } catch (error) {
      taskFailed(lane, items, error)
      schedulePump()
      return
    }
    const reply = decodeReply(buffer, items.length)
    if (reply.kind === 'keys') drain.record(items.length, reply.elapsedMs)
    items.forEach((item, i) => {
      const pair = reply.kind === 'keys' ? reply.keys[i] : undefined
      if (pair) item.resolve({ keyType, spki: pair.spki, pkcs8: pair.pkcs8 })
      else item.reject(new MeshcaError('INTERNAL', 'signer worker returned no key'))
    })
    schedulePump()
  }

  async function runRefill(keyType: KeyType, count: number): Promise<void> {
    let pairs: KeyPairBytes[] = []
    try {
      const reply = decodeReply(await runTask({ kind: 'generate', keyType, count }, []), count)
      if (reply.kind === 'keys') {
        pairs = reply.keys.map((k) => ({ keyType, spki: k.spki, pkcs8: k.pkcs8 }))
      }
    } catch {
      // A broken pool must not spin: refilling waits a second, requests still report their errors.
      refillPausedUntil = performance.now() + 1000
      setTimeout(schedulePump, 1000).unref?.()
    }
    keyPool.finishGenerating(keyType, count, closed ? [] : pairs)
    if (keyPool.full()) for (const wake of filledWaiters) wake()
    schedulePump()
  }

  function admit(count: number): void {
    if (closed) throw closedError()
    if (queued > 0 && queued + count > maxQueued) {
      throw saturatedError(queued, drain.seconds(queued + count, threads))
    }
  }

  function waitFor(waiters: Set<() => void>, done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve()
    return new Promise((resolve) => {
      const wake = () => {
        if (!done() && !closed) return
        waiters.delete(wake)
        resolve()
      }
      waiters.add(wake)
    })
  }

  schedulePump()

  return {
    async generateKeyPair(keyType) {
      admit(1)
      const pooled = keyPool.take(keyType)
      if (pooled) {
        keysFromPool++
        schedulePump()
        return pooled
      }
      return new Promise<KeyPairBytes>((resolve, reject) => {
        const lane = laneFor(`key:${keyType}`, undefined, keyType)
        enqueue(lane, [{ kind: 'key', keyType, resolve, reject, attempt: 0 }])
      })
    },

    async issue(ca, requests) {
      admit(requests.length)
      if (requests.length === 0) return []
      return new Promise<IssueOutcome[]>((resolve, reject) => {
        const caller: Caller = {
          outcomes: new Array<IssueOutcome>(requests.length),
          remaining: requests.length,
          settled: false,
          resolve,
          reject,
        }
        const items: LeafItem[] = requests.map((request, index) => {
          const subject = request.subjectKey
          const pooledKey = 'generate' in subject ? keyPool.take(subject.generate) : undefined
          if (pooledKey) keysFromPool++
          return { kind: 'leaf', request, pooledKey, caller, index, attempt: 0 }
        })
        enqueue(laneFor(`ca:${ca.id}`, ca, undefined), items)
      })
    },

    async close() {
      if (closed) return
      closed = true
      pool.off('error', onPoolError)
      pool.off('workerDestroy', onWorkerDestroy)
      for (const lane of ready) {
        for (let i = lane.head; i < lane.items.length; i++) {
          const item = lane.items[i] as Item
          if (item.kind === 'key') item.reject(closedError())
          else if (!item.caller.settled) {
            item.caller.settled = true
            item.caller.reject(closedError())
          }
        }
      }
      ready.length = 0
      lanes.clear()
      queued = 0
      keyPool.clear()
      for (const wake of filledWaiters) wake()
      // Tasks already with a thread finish and deliver; then a private pool goes away.
      await waitFor(settledWaiters, () => inFlight === 0)
      if (ownsPool) await pool.destroy()
    },

    stats() {
      return {
        threads,
        queuedRequests: queued,
        tasksInFlight: inFlight,
        keyPool: keyPool.sizes(),
        keysFromPool,
        retriedTasks,
        failedTasks,
      }
    },

    keyPoolFilled() {
      return waitFor(filledWaiters, () => keyPool.full())
    },
  }
}
