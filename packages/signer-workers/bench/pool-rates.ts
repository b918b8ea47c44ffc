import type { KeyType, SigningCa, SubjectKey } from '@meshca/core-mtls'
import { createWorkerSigner } from '../src/index.ts'
import { benchRequests } from './fixtures/requests.ts'

export interface PoolScenario {
  /** Any SubjectPublicKeyInfo, for requests that must not draw from the key pool. */
  readonly warmUpSpki: Uint8Array
  readonly threads: number
  readonly ca: SigningCa
  readonly subjectKey: SubjectKey
}

function fail(message: string): never {
  throw new Error(message)
}

/**
 * Certificates per second while callers keep the signer busy: calls of `callSize` requests are
 * kept outstanding so the queue never runs dry; completions are counted over the window after a
 * warm-up. No key pool: every generated key is made while the caller waits.
 */
export async function sustainedRate(
  scenario: PoolScenario,
  windowMs: number,
  options: { readonly callSize: number; readonly outstanding: number }
): Promise<number> {
  const signer = createWorkerSigner({
    threads: scenario.threads,
    // Same priority as the raw-limit threads, so that the ratio compares like with like.
    niceIncrement: 0,
    keyPool: {},
    maxQueuedRequests: options.callSize * options.outstanding * 2,
  })
  let completed = 0
  let counting = false
  let running = true
  const caller = async () => {
    while (running) {
      const outcomes = await signer.issue(
        scenario.ca,
        benchRequests(options.callSize, scenario.subjectKey)
      )
      if (!outcomes.every((o) => o.ok)) fail('issuance failed')
      if (counting) completed += outcomes.length
    }
  }
  const callers = Array.from({ length: options.outstanding }, caller)
  try {
    await new Promise((resolve) => setTimeout(resolve, Math.min(1000, windowMs / 3)))
    counting = true
    const started = performance.now()
    await new Promise((resolve) => setTimeout(resolve, windowMs))
    counting = false
    const elapsed = performance.now() - started
    return (completed / elapsed) * 1000
  } finally {
    running = false
    await Promise.all(callers)
    await signer.close()
  }
}

/**
 * A burst such as a control plane restart: `size` data planes ask at once, one request per call,
 * against a key pool warmed to `warmKeys` (when keys are generated). Returns certificates per
 * second from the first call to the last answer.
 */
export async function burstRate(
  scenario: PoolScenario,
  size: number,
  warmKeys: number,
  onWarming?: (keyType: KeyType) => void
): Promise<number> {
  const keyType = 'generate' in scenario.subjectKey ? scenario.subjectKey.generate : undefined
  const warmUpKey = scenario.warmUpSpki
  const signer = createWorkerSigner({
    threads: scenario.threads,
    niceIncrement: 0,
    keyPool: keyType ? { [keyType]: warmKeys } : {},
    maxQueuedRequests: size,
  })
  try {
    if (keyType) {
      onWarming?.(keyType)
      await signer.keyPoolFilled()
    }
    // A serving process has its threads up and its CAs loaded: so does the signer under test.
    // Requests with a given key leave the pool of generated keys untouched.
    await Promise.all(
      Array.from({ length: scenario.threads * 4 }, () =>
        signer.issue(scenario.ca, benchRequests(1, { spki: warmUpKey }))
      )
    )
    const calls = Array.from({ length: size }, () => benchRequests(1, scenario.subjectKey))
    const started = performance.now()
    const answers = await Promise.all(calls.map((requests) => signer.issue(scenario.ca, requests)))
    const elapsed = performance.now() - started
    if (!answers.every(([o]) => o?.ok)) fail('issuance failed')
    if (keyType && signer.stats().keysFromPool < Math.min(size, warmKeys))
      fail('the pool was not used')
    return (size / elapsed) * 1000
  } finally {
    await signer.close()
  }
}
