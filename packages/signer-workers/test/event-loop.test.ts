/**
 * The point of the pool: the thread that serves requests stays responsive while certificates are
 * built and signed as fast as the machine allows. The pool is kept saturated (its queue at the
 * bound, callers refused) for a few seconds while the event loop's delay is sampled.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { isMeshcaError } from '@meshca/core-mtls'
import { createTestCa } from '@meshca/core-mtls/testing'
import { expect, it } from 'vitest'
import { createWorkerSigner, defaultThreadCount } from '../src/index.ts'
import { certificateSpki } from './support/der.ts'
import { leafRequests } from './support/requests.ts'

const SATURATED_FOR_MS = 3000
const MAX_QUEUED = 2000

it('keeps the p99 event-loop delay under 20 ms while the pool is saturated', async () => {
  const [rsaCa, ecCa] = await Promise.all([
    createTestCa({ keyType: 'RSA_2048' }),
    createTestCa({ keyType: 'ECDSA_P256' }),
  ])
  // The serving-process default: cores − 1 threads, the event loop keeps a core.
  const signer = createWorkerSigner({
    threads: defaultThreadCount(),
    maxQueuedRequests: MAX_QUEUED,
  })
  const spki = certificateSpki(ecCa.signing.certificate)
  let issued = 0
  let refused = 0
  let failed = 0
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  const deadline = performance.now() + SATURATED_FOR_MS
  const inFlight = new Set<Promise<void>>()
  histogram.enable()
  try {
    // Callers in the style of an API instance: many small batches, some CSR, some with keys. Each
    // turn of the loop tops the queue up to its bound, plus one call that the signer must refuse.
    let turn = 0
    while (performance.now() < deadline) {
      const room = Math.floor((MAX_QUEUED - signer.stats().queuedRequests) / 16)
      for (let i = 0; i <= room; i++, turn++) {
        const ca = turn % 2 === 0 ? ecCa : rsaCa
        const subjectKey = turn % 4 === 3 ? ({ generate: 'ECDSA_P256' } as const) : { spki }
        // The last call of a turn is the one that overflows: a single request is enough for it.
        const requests = leafRequests(i === room ? 1 : 16, subjectKey)
        const call: Promise<void> = signer.issue(ca.signing, requests).then(
          (outcomes) => {
            issued += outcomes.filter((o) => o.ok).length
            failed += outcomes.filter((o) => !o.ok).length
          },
          (error: unknown) => {
            if (!isMeshcaError(error, 'SIGNER_SATURATED')) throw error
            refused++
          }
        )
        const tracked = call.finally(() => inFlight.delete(tracked))
        inFlight.add(tracked)
      }
      await new Promise((resolve) => setImmediate(resolve))
    }
    await Promise.all(inFlight)
  } finally {
    histogram.disable()
    await signer.close()
  }
  const p99Ms = histogram.percentile(99) / 1e6
  const maxMs = histogram.max / 1e6
  console.info(
    `event loop while saturated: p99 ${p99Ms.toFixed(1)} ms, max ${maxMs.toFixed(1)} ms; ${issued} issued, ${refused} calls refused`
  )
  expect(refused).toBeGreaterThan(0)
  expect(failed).toBe(0)
  expect(issued).toBeGreaterThan(1000)
  expect(p99Ms).toBeLessThan(20)
})
