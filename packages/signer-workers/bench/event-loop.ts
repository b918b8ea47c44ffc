import { monitorEventLoopDelay } from 'node:perf_hooks'
import { isMeshcaError, type SigningCa } from '@meshca/core-mtls'
import { createWorkerSigner } from '../src/index.ts'
import { benchRequests } from './fixtures/requests.ts'

export interface EventLoopScenario {
  /** Any SubjectPublicKeyInfo, for the requests that bring their key (the CSR flow). */
  readonly spki: Uint8Array
  readonly rsaCa: SigningCa
  readonly ecCa: SigningCa
  readonly threads: number
}

export interface EventLoopResult {
  readonly p99Ms: number
  readonly maxMs: number
  readonly issued: number
  readonly refused: number
}

const MAX_QUEUED = 2000

/**
 * The calling thread's event-loop delay while the signer is saturated for `windowMs`: callers in
 * the style of an API instance (many small batches, half under the RSA CA, a quarter with generated
 * keys) top the queue up to its bound on every turn, plus one call that the signer must refuse.
 * The pool as a serving process has it: its threads reniced, the event loop keeps a core.
 */
export async function saturatedEventLoop(
  scenario: EventLoopScenario,
  windowMs: number
): Promise<EventLoopResult> {
  const signer = createWorkerSigner({ threads: scenario.threads, maxQueuedRequests: MAX_QUEUED })
  const csrKey = { spki: scenario.spki }
  let issued = 0
  let refused = 0
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  const deadline = performance.now() + windowMs
  const inFlight = new Set<Promise<void>>()
  histogram.enable()
  try {
    let turn = 0
    while (performance.now() < deadline) {
      const room = Math.floor((MAX_QUEUED - signer.stats().queuedRequests) / 16)
      for (let i = 0; i <= room; i++, turn++) {
        const ca = turn % 2 === 0 ? scenario.ecCa : scenario.rsaCa
        const subjectKey = turn % 4 === 3 ? ({ generate: 'ECDSA_P256' } as const) : csrKey
        // The last call of a turn is the one that overflows: a single request is enough for it.
        const call: Promise<void> = signer
          .issue(ca, benchRequests(i === room ? 1 : 16, subjectKey))
          .then(
            (outcomes) => {
              if (!outcomes.every((o) => o.ok)) throw new Error('issuance failed')
              issued += outcomes.length
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
  return { p99Ms: histogram.percentile(99) / 1e6, maxMs: histogram.max / 1e6, issued, refused }
}
