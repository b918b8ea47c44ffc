/** A full queue fails fast with SIGNER_SATURATED and a retry hint; memory stays bounded. */
import { isMeshcaError } from '@meshca/core-mtls'
import { createTestCa, type TestCa } from '@meshca/core-mtls/testing'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createWorkerSigner, retryAfterSeconds, type WorkerSigner } from '../src/index.ts'
import { certificateSpki } from './support/der.ts'
import { leafRequests } from './support/requests.ts'

describe('back-pressure', () => {
  let ca: TestCa
  let spki: Uint8Array
  let signer: WorkerSigner | undefined

  beforeAll(async () => {
    ca = await createTestCa({ keyType: 'ECDSA_P256' })
    spki = certificateSpki(ca.signing.certificate)
  })

  afterEach(async () => {
    await signer?.close()
    signer = undefined
  })

  it('rejects a batch that does not fit with SIGNER_SATURATED and a Retry-After hint', async () => {
    signer = createWorkerSigner({ threads: 1, maxQueuedRequests: 100, keyPool: {} })
    const accepted = signer.issue(ca.signing, leafRequests(100, { spki }))
    const refused = signer.issue(ca.signing, leafRequests(1, { spki }))
    await expect(refused).rejects.toSatisfy((error: unknown) => {
      return isMeshcaError(error, 'SIGNER_SATURATED') && (retryAfterSeconds(error) ?? 0) >= 1
    })
    expect((await accepted).every((o) => o.ok)).toBe(true)
    // Drained: the same request is taken now.
    expect((await signer.issue(ca.signing, leafRequests(1, { spki })))[0]?.ok).toBe(true)
  })

  it('takes an oversized batch when nothing else waits: its caller holds it already', async () => {
    signer = createWorkerSigner({ threads: 1, maxQueuedRequests: 10, keyPool: {} })
    const outcomes = await signer.issue(ca.signing, leafRequests(50, { spki }))
    expect(outcomes.filter((o) => o.ok)).toHaveLength(50)
  })

  it('never queues more than its bound under a flood of callers', async () => {
    const maxQueuedRequests = 500
    signer = createWorkerSigner({ threads: 1, maxQueuedRequests, keyPool: {} })
    const active = signer
    let refused = 0
    let highWater = 0
    // Each call's failure is caught at once: a refusal is an answer, not an unhandled rejection.
    const answers: Promise<unknown>[] = []
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 20; i++) {
        answers.push(
          active.issue(ca.signing, leafRequests(10, { generate: 'ECDSA_P256' })).then(
            () => undefined,
            (error: unknown) => error
          )
        )
      }
      highWater = Math.max(highWater, active.stats().queuedRequests)
      await new Promise((resolve) => setImmediate(resolve))
    }
    for (const error of await Promise.all(answers)) {
      if (error === undefined) continue
      expect(isMeshcaError(error, 'SIGNER_SATURATED')).toBe(true)
      refused++
    }
    expect(refused).toBeGreaterThan(0)
    expect(highWater).toBeLessThanOrEqual(maxQueuedRequests)
  })

  it('bases the hint on the work queued: slow RSA key generation asks for a longer wait', async () => {
    signer = createWorkerSigner({ threads: 1, maxQueuedRequests: 400, keyPool: {} })
    await signer.issue(ca.signing, leafRequests(2, { generate: 'RSA_2048' }))
    const backlog = signer.issue(ca.signing, leafRequests(400, { generate: 'RSA_2048' })).then(
      () => undefined,
      (error: unknown) => error
    )
    const refused = await signer
      .issue(ca.signing, leafRequests(1, { spki }))
      .catch((e: unknown) => e)
    // 401 RSA keys on one thread: over 3 s even at 10 ms a key, a tenth of what one takes here
    // (~130 ms); at the cost of a request with its key given (~0.1 ms) it would be 1 s.
    expect(retryAfterSeconds(refused)).toBeGreaterThanOrEqual(3)
    await signer.close()
    // Closing does not wait for 400 RSA keys: what had not reached a thread is failed at once.
    expect(isMeshcaError(await backlog, 'INTERNAL')).toBe(true)
  })

  it('rejects new work once closed, and fails what still waits', async () => {
    signer = createWorkerSigner({ threads: 1, keyPool: {} })
    const answers = [300, 300].map((count) =>
      signer?.issue(ca.signing, leafRequests(count, { spki })).then(
        () => 'issued',
        (error: unknown) => (isMeshcaError(error, 'INTERNAL') ? 'closed' : error)
      )
    )
    await new Promise((resolve) => setTimeout(resolve, 0))
    await signer.close()
    expect(await Promise.all(answers)).toContain('closed')
    await expect(signer.issue(ca.signing, leafRequests(1, { spki }))).rejects.toThrow(/closed/)
    await expect(signer.generateKeyPair('ECDSA_P256')).rejects.toThrow(/closed/)
  })
})
