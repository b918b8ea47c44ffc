/** Pre-generated keys: used first, refilled in idle time, and never handed out twice. */
import { createPrivateKey, createPublicKey } from 'node:crypto'
import type { IssueOutcome } from '@meshca/core-mtls'
import { createTestCa, type TestCa } from '@meshca/core-mtls/testing'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createWorkerSigner, type WorkerSigner } from '../src/index.ts'
import { certificateSpki, hex } from './support/der.ts'
import { leafRequests } from './support/requests.ts'

function issued(
  outcomes: readonly IssueOutcome[]
): { certificate: Uint8Array; privateKey: Uint8Array }[] {
  return outcomes.map((outcome) => {
    if (!outcome.ok || !outcome.leaf.privateKey) throw new Error('issue failed')
    return { certificate: outcome.leaf.certificate, privateKey: outcome.leaf.privateKey }
  })
}

describe('pre-generated key pool', () => {
  let ca: TestCa
  let signer: WorkerSigner | undefined

  beforeAll(async () => {
    ca = await createTestCa({ keyType: 'ECDSA_P256' })
  })

  afterEach(async () => {
    await signer?.close()
    signer = undefined
  })

  // ECDSA keys: the property is the pool's bookkeeping, not the key type, and RSA would take
  // minutes to generate 10,000 keys on two cores.
  it('hands out 10,000 distinct keys across ten drain-and-refill cycles', async () => {
    signer = createWorkerSigner({ threads: 2, keyPool: { ECDSA_P256: 1000 } })
    const spkis = new Set<string>()
    const privateKeys = new Set<string>()
    const sample: { certificate: Uint8Array; privateKey: Uint8Array }[] = []
    for (let wave = 0; wave < 10; wave++) {
      await signer.keyPoolFilled()
      expect(signer.stats().keyPool.ECDSA_P256).toBe(1000)
      const leaves = issued(
        await signer.issue(ca.signing, leafRequests(1000, { generate: 'ECDSA_P256' }))
      )
      for (const leaf of leaves) {
        spkis.add(hex(certificateSpki(leaf.certificate)))
        privateKeys.add(hex(leaf.privateKey))
      }
      sample.push(...leaves.slice(0, 10))
    }
    expect(signer.stats().keysFromPool).toBe(10_000)
    expect(spkis.size).toBe(10_000)
    expect(privateKeys.size).toBe(10_000)
    // Each certificate carries the public half of the private key returned with it.
    for (const leaf of sample) {
      const fromPrivate = createPublicKey(
        createPrivateKey({ key: Buffer.from(leaf.privateKey), format: 'der', type: 'pkcs8' })
      )
      const fromCertificate = createPublicKey({
        key: Buffer.from(certificateSpki(leaf.certificate)),
        format: 'der',
        type: 'spki',
      })
      expect(fromPrivate.equals(fromCertificate)).toBe(true)
    }
  })

  it('serves an RSA burst from the pool first, then generates inline, all keys distinct', async () => {
    signer = createWorkerSigner({ threads: 2, keyPool: { RSA_2048: 4 } })
    await signer.keyPoolFilled()
    const first = await signer.generateKeyPair('RSA_2048')
    const leaves = issued(await signer.issue(ca.signing, leafRequests(5, { generate: 'RSA_2048' })))
    // One from generateKeyPair and three for the burst came from the pool; two were made inline.
    expect(signer.stats().keysFromPool).toBe(4)
    const keys = new Set([hex(first.pkcs8), ...leaves.map((l) => hex(l.privateKey))])
    expect(keys.size).toBe(6)
    await signer.keyPoolFilled()
    expect(signer.stats().keyPool.RSA_2048).toBe(4)
  })

  it('does not refill while requests wait', async () => {
    signer = createWorkerSigner({ threads: 1, keyPool: { ECDSA_P256: 50 } })
    await signer.keyPoolFilled()
    const pending = signer.issue(
      ca.signing,
      leafRequests(400, { spki: certificateSpki(ca.signing.certificate) })
    )
    const burst = signer.issue(ca.signing, leafRequests(60, { generate: 'ECDSA_P256' }))
    await Promise.resolve()
    expect(signer.stats().keyPool.ECDSA_P256).toBe(0)
    await Promise.all([pending, burst])
    expect(signer.stats().keysFromPool).toBe(50)
    await signer.keyPoolFilled()
  })
})
