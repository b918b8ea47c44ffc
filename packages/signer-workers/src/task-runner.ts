import type { SignerPool } from './signer-pool.ts'
import type { WorkerTask } from './wire/protocol.ts'

/**
 * Runs tasks on the pool and counts those in flight. Each task has a watchdog, and the pool is kept
 * alive while tasks of ours wait in it; `close` stops that and `idle` waits for the rest.
 */
export class TaskRunner {
  readonly #pool: SignerPool
  readonly #threads: number
  readonly #taskTimeoutMs: number
  readonly #idleWaiters = new Set<() => void>()
  #inFlight = 0
  #closed = false

  readonly #onPoolError = (): void => {
    // A thread that fails with no task of ours is replaced by piscina; nothing is waiting on it.
  }
  /**
   * piscina stops replacing threads once one dies before it was ready, and it only starts a thread
   * when a task is submitted. If the last thread dies without a task of ours on it while our tasks
   * wait in piscina's queue, nothing would ever run them: an empty task makes piscina start one.
   */
  readonly #onWorkerDestroy = (): void => {
    if (this.#closed || this.#inFlight === 0) return
    queueMicrotask(() => {
      if (this.#closed || this.#inFlight === 0 || this.#pool.threads.length >= this.#threads) return
      this.#pool.run({ kind: 'generate', keyType: 'ED25519', count: 0 }).catch(() => {
        // Only the side effect (a new thread) matters.
      })
    })
  }

  constructor(pool: SignerPool, threads: number, taskTimeoutMs: number) {
    this.#pool = pool
    this.#threads = threads
    this.#taskTimeoutMs = taskTimeoutMs
    pool.on('error', this.#onPoolError)
    pool.on('workerDestroy', this.#onWorkerDestroy)
  }

  get inFlight(): number {
    return this.#inFlight
  }

  async run(task: WorkerTask, transferList: ArrayBuffer[]): Promise<ArrayBuffer> {
    this.#inFlight++
    const taskTimeoutMs = this.#taskTimeoutMs
    // The last line of defence against a hang: a task that neither answers nor fails in time is
    // aborted (piscina then ends its thread) and handled like a task whose thread died.
    const watchdog = new AbortController()
    const timer = setTimeout(
      () => watchdog.abort(new Error(`no answer within ${taskTimeoutMs} ms`)),
      taskTimeoutMs
    )
    timer.unref?.()
    try {
      const reply = await this.#pool.run(task, { transferList, signal: watchdog.signal })
      if (!(reply instanceof ArrayBuffer)) throw new Error('unexpected reply from signer worker')
      return reply
    } catch (error) {
      // piscina reports an abort as such; the reason says more.
      throw watchdog.signal.aborted ? watchdog.signal.reason : error
    } finally {
      clearTimeout(timer)
      this.#inFlight--
      if (this.#inFlight === 0) for (const wake of this.#idleWaiters) wake()
    }
  }

  /** Stops keeping the pool alive; tasks already submitted still finish and deliver. */
  close(): void {
    this.#closed = true
    this.#pool.off('error', this.#onPoolError)
    this.#pool.off('workerDestroy', this.#onWorkerDestroy)
  }

  /** Resolves once no task is in flight. */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const wake = () => {
        if (this.#inFlight !== 0 && !this.#closed) return
        this.#idleWaiters.delete(wake)
        resolve()
      }
      this.#idleWaiters.add(wake)
    })
  }
}
