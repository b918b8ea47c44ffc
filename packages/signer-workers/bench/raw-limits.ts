import { once } from 'node:events'
import { Worker } from 'node:worker_threads'
import { RAW_CRYPTO_WORKER, type RawOperation } from './fixtures/raw-crypto-worker.ts'

/**
 * Operations per second of one node:crypto operation on `threads` threads at once: the ceiling no
 * signer on this machine can pass. Threads start together once all of them have their keys.
 */
export async function rawRate(
  op: RawOperation,
  threads: number,
  windowMs: number
): Promise<number> {
  const workers = Array.from(
    { length: threads },
    () => new Worker(RAW_CRYPTO_WORKER, { eval: true, workerData: { op, ms: windowMs } })
  )
  try {
    await Promise.all(workers.map((w) => once(w, 'online')))
    // Key setup happens before the message is read; a short pause lets every thread reach it.
    await new Promise((resolve) => setTimeout(resolve, op === 'rsa-keygen' ? 500 : 300))
    const results = workers.map(
      (w) => once(w, 'message') as Promise<[{ done: number; elapsed: number }]>
    )
    for (const w of workers) w.postMessage('go')
    let total = 0
    for (const [{ done, elapsed }] of await Promise.all(results)) total += (done / elapsed) * 1000
    return total
  } finally {
    await Promise.all(workers.map((w) => w.terminate()))
  }
}
