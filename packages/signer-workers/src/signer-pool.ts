import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { MeshcaError } from '@meshca/core-mtls'
import { Piscina } from 'piscina'
import type { WorkerTask } from './wire/protocol.ts'

/** A piscina pool running this package's worker; `createSignerPool` makes one. */
export type SignerPool = Piscina<WorkerTask, unknown>

/**
 * Threads for a process that also serves requests: one core stays with the event loop (style
 * convention 15), and a single-core machine still gets one worker.
 */
export function defaultThreadCount(): number {
  return Math.max(1, availableParallelism() - 1)
}

/**
 * The worker's JavaScript. Node 20 cannot run TypeScript, so the worker always runs from `dist/`,
 * also when this module itself runs from source (tests, benchmarks): those build the package first.
 */
export function signerWorkerUrl(): URL {
  const here = import.meta.url
  return here.endsWith('.ts')
    ? new URL('../dist/workers/issue.worker.js', here)
    : new URL('./workers/issue.worker.js', here)
}

export interface SignerPoolOptions {
  /** Worker threads; `defaultThreadCount()` when absent. */
  readonly threads?: number
  /** How long an idle thread lives; piscina's default (immediate) would churn threads. */
  readonly idleTimeoutMs?: number
  /**
   * Added to the workers' nice value (Linux: per thread), so that the event loop of the serving
   * thread wins the CPU whenever it wants it and signing takes the rest. 0 keeps them equal, as
   * benchmarks that compare with raw limits want. Ignored where piscina cannot renice.
   */
  readonly niceIncrement?: number
}

export const DEFAULT_NICE_INCREMENT = 5

/**
 * One pool per process, sized to the cores and bounded: the signer keeps at most two tasks per
 * thread with piscina, so piscina's `Task queue is at limit` cannot escape.
 */
export function createSignerPool(options: SignerPoolOptions = {}): SignerPool {
  const threads = options.threads ?? defaultThreadCount()
  if (!Number.isInteger(threads) || threads < 1) {
    throw new MeshcaError('INVALID', 'threads must be a positive integer', { path: 'threads' })
  }
  const worker = signerWorkerUrl()
  if (!existsSync(fileURLToPath(worker))) {
    throw new MeshcaError(
      'INTERNAL',
      'the signer worker is not built: run `npm run build -w @meshca/signer-workers`'
    )
  }
  return new Piscina<WorkerTask, unknown>({
    filename: worker.href,
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: options.idleTimeoutMs ?? 60_000,
    // piscina's 'auto' (threads²), but at least twice the threads: the signer queues at most one
    // task per thread and keeps the rest free for the empty task that revives a dead pool.
    maxQueue: Math.max(threads * threads, threads * 2),
    recordTiming: false,
    niceIncrement: options.niceIncrement ?? DEFAULT_NICE_INCREMENT,
  })
}
