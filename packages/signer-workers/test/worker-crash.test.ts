/**
 * A worker thread that dies (killed, out of memory, a native crash) takes its task with it. piscina
 * replaces the thread; the signer retries the task's requests once and otherwise fails them with an
 * INTERNAL error. Nothing may hang: every promise settles within the test timeout.
 */
import { isMeshcaError } from '@meshca/core-mtls'
import { createTestCa, type TestCa } from '@meshca/core-mtls/testing'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  createSignerPool,
  createWorkerSigner,
  type SignerPool,
  type WorkerSigner,
} from '../src/index.ts'
import { leafRequests } from './support/requests.ts'

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('a killed worker thread', () => {
  let ca: TestCa
  let pool: SignerPool | undefined
  let signer: WorkerSigner | undefined

  beforeAll(async () => {
    ca = await createTestCa({ keyType: 'ECDSA_P256' })
  })

  afterEach(async () => {
    await signer?.close()
    await pool?.destroy()
    signer = undefined
    pool = undefined
  })

  it('is replaced, and its in-flight requests are retried on another thread', async () => {
    pool = createSignerPool({ threads: 2 })
    signer = createWorkerSigner({ pool, keyPool: {} })
    // RSA key generation keeps each task on its thread for ~100 ms: a wide window to kill it in.
    const pending = signer.issue(ca.signing, leafRequests(6, { generate: 'RSA_2048' }))
    await until(() => (signer?.stats().tasksInFlight ?? 0) >= 2)
    const victim = pool.threads[0]
    if (!victim) throw new Error('no thread')
    await victim.terminate()
    const outcomes = await pending
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, true, true, true, true])
    expect(signer.stats().retriedTasks).toBeGreaterThanOrEqual(1)
    await until(() => pool?.threads.length === 2)
    // The replacement thread has never seen the CA: it asks for it and signs.
    const after = await signer.issue(ca.signing, leafRequests(20, { generate: 'ECDSA_P256' }))
    expect(after.every((o) => o.ok)).toBe(true)
  })

  it('fails the requests of a task cleanly when no retry is left', async () => {
    pool = createSignerPool({ threads: 2 })
    signer = createWorkerSigner({ pool, keyPool: {}, maxAttempts: 1 })
    const pending = signer.issue(ca.signing, leafRequests(4, { generate: 'RSA_2048' }))
    await until(() => (signer?.stats().tasksInFlight ?? 0) >= 2)
    await pool.threads[0]?.terminate()
    const outcomes = await pending
    const failed = outcomes.filter((o) => !o.ok)
    expect(failed.length).toBeGreaterThanOrEqual(1)
    for (const outcome of failed) {
      if (outcome.ok) continue
      expect(isMeshcaError(outcome.error, 'INTERNAL')).toBe(true)
      expect(outcome.error.message).toMatch(/signer worker failed/)
    }
    expect(outcomes.filter((o) => o.ok).length).toBe(4 - failed.length)
    expect(signer.stats().failedTasks).toBeGreaterThanOrEqual(1)
  })

  it('settles every request while threads keep dying', async () => {
    pool = createSignerPool({ threads: 2 })
    signer = createWorkerSigner({ pool, keyPool: {}, maxBatchSize: 16 })
    const pending = Promise.all(
      Array.from({ length: 40 }, () =>
        signer?.issue(ca.signing, leafRequests(50, { generate: 'ECDSA_P256' }))
      )
    )
    let kills = 0
    const killer = setInterval(() => {
      const thread = pool?.threads[kills % 2]
      if (thread && kills < 6) {
        kills++
        void thread.terminate()
      }
    }, 15)
    try {
      const batches = await pending
      const outcomes = batches.flatMap((b) => b ?? [])
      expect(outcomes).toHaveLength(2000)
      expect(kills).toBeGreaterThanOrEqual(1)
      for (const outcome of outcomes) {
        if (!outcome.ok) expect(isMeshcaError(outcome.error, 'INTERNAL')).toBe(true)
      }
    } finally {
      clearInterval(killer)
    }
    await until(() => pool?.threads.length === 2)
    const after = await signer.issue(ca.signing, leafRequests(5, { generate: 'ED25519' }))
    expect(after.every((o) => o.ok)).toBe(true)
  })
})

describe('a pool whose last thread dies while tasks wait', () => {
  it('is revived instead of leaving the queued tasks pending', async () => {
    const ca = await createTestCa({ keyType: 'ECDSA_P256' })
    const pool = createSignerPool({ threads: 1 })
    const signer = createWorkerSigner({ pool, keyPool: {} })
    try {
      // Two RSA tasks: one runs on the only thread, the next waits in piscina's queue.
      const pending = signer.issue(ca.signing, leafRequests(3, { generate: 'RSA_2048' }))
      await until(() => signer.stats().tasksInFlight === 2)
      const first = pool.threads[0]
      await first?.terminate()
      // piscina starts a replacement for the retried task; killing it before it is ready makes
      // piscina give up replacing threads, with our tasks still in its queue.
      await until(() => pool.threads.some((t) => t !== first))
      await pool.threads.find((t) => t !== first)?.terminate()
      const outcomes = await pending
      expect(outcomes).toHaveLength(3)
      for (const outcome of outcomes) {
        if (!outcome.ok) expect(isMeshcaError(outcome.error, 'INTERNAL')).toBe(true)
      }
      expect(outcomes.some((o) => o.ok)).toBe(true)
    } finally {
      await signer.close()
      await pool.destroy()
    }
  }, 30_000)

  it('aborts a task that never answers, then fails it cleanly', async () => {
    const ca = await createTestCa({ keyType: 'ECDSA_P256' })
    // RSA-4096 key generation takes far longer than this timeout: the watchdog must fire.
    const signer = createWorkerSigner({ threads: 1, keyPool: {}, taskTimeoutMs: 20 })
    try {
      const [outcome] = await signer.issue(ca.signing, leafRequests(1, { generate: 'RSA_4096' }))
      expect(outcome?.ok).toBe(false)
      if (outcome && !outcome.ok) expect(outcome.error.message).toMatch(/no answer within 20 ms/)
    } finally {
      await signer.close()
    }
  })
})
