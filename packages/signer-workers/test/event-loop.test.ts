/**
 * The point of the pool: the thread that serves requests stays responsive while certificates are
 * signed. How responsive is a benchmark figure (a p99 event-loop delay under 20 ms while the pool
 * is saturated, which `npm run bench -w @meshca/signer-workers` reports); this test only catches
 * signing that runs on the event loop, with a bound that a loaded machine does not come near.
 *
 * The work is heavy per task (batches of 128 certificates under an RSA-4096 CA, 3–15 ms a signature
 * on one core: a second or so a batch), and a 1 ms interval timer on this thread notes how late each
 * tick comes. Signed on the event loop, every batch would hold back the ticks for its whole duration:
 * the loop would be stalled (ticks 50 ms late or more) about all of the time. On the pool it may
 * stall for at most a tenth of the time; it measures near zero.
 */
import { createTestCa } from '@meshca/core-mtls/testing'
import { expect, it } from 'vitest'
import { createWorkerSigner } from '../src/index.ts'
import { certificateSpki } from './support/der.ts'
import { leafRequests } from './support/requests.ts'

const REQUESTS = 512
const STALL_MS = 50

/** The gaps between the ticks of a 1 ms interval on this thread, until `stop()`. */
function watchTicks(): { stop(): number[] } {
  const gaps: number[] = []
  let last = performance.now()
  const tick = () => {
    const now = performance.now()
    gaps.push(now - last)
    last = now
  }
  const timer = setInterval(tick, 1)
  return {
    stop() {
      clearInterval(timer)
      tick()
      return gaps
    },
  }
}

it('leaves the event loop free while the pool signs: stalled for less than a tenth of the time', async () => {
  const ca = await createTestCa({ keyType: 'RSA_4096' })
  // One thread whatever the machine: more would cut the same work into smaller batches.
  const signer = createWorkerSigner({ threads: 1, maxQueuedRequests: REQUESTS, keyPool: {} })
  const spki = certificateSpki(ca.signing.certificate)
  const ticks = watchTicks()
  let gaps: number[]
  let outcomes: Awaited<ReturnType<typeof signer.issue>>[]
  try {
    // Callers of 16 requests in one tick: the queue is cut into full batches.
    outcomes = await Promise.all(
      Array.from({ length: REQUESTS / 16 }, () =>
        signer.issue(ca.signing, leafRequests(16, { spki }))
      )
    )
  } finally {
    gaps = ticks.stop()
    await signer.close()
  }
  const elapsedMs = gaps.reduce((sum, gap) => sum + gap, 0)
  const stalledMs = gaps.filter((gap) => gap >= STALL_MS).reduce((sum, gap) => sum + gap, 0)
  const sorted = [...gaps].sort((a, b) => a - b)
  const p99Ms = sorted[Math.floor(sorted.length * 0.99)] ?? 0
  console.info(
    `event loop while the pool signed ${REQUESTS} certificates under an RSA-4096 CA for ${(elapsedMs / 1000).toFixed(1)} s: stalled ${stalledMs.toFixed(0)} ms, tick gaps p99 ${p99Ms.toFixed(1)} ms, max ${(sorted.at(-1) ?? 0).toFixed(1)} ms`
  )
  expect(outcomes.flat().filter((o) => !o.ok)).toEqual([])
  expect(outcomes.flat()).toHaveLength(REQUESTS)
  expect(stalledMs).toBeLessThan(elapsedMs / 10)
})
