/**
 * The pool on each runtime: `npm test` runs this file on Node, then on Bun and Deno (the vitest
 * config limits those passes to test/runtime). piscina 5 works on both, so no inline fallback is
 * wired; if a runtime regresses, this is the test that says so.
 */
import { X509Certificate } from 'node:crypto'
import { createTestCa } from '@meshca/core-mtls/testing'
import { describe, expect, it } from 'vitest'
import { createSignerPool, createWorkerSigner } from '../../src/index.ts'
import { certificateSpki } from '../support/der.ts'
import { leafRequest, leafRequests } from '../support/requests.ts'

function detectRuntime(): 'bun' | 'deno' | 'node' {
  if ('Bun' in globalThis) return 'bun'
  if ('Deno' in globalThis) return 'deno'
  return 'node'
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe(`worker pool on ${detectRuntime()}`, () => {
  it('runs on the runtime the test command asked for', () => {
    expect(detectRuntime()).toBe(process.env.MESHCA_EXPECT_RUNTIME ?? 'node')
  })

  it('issues, batches, pre-generates keys and closes', async () => {
    const [rsaCa, ecCa] = await Promise.all([
      createTestCa({ keyType: 'RSA_2048' }),
      createTestCa({ keyType: 'ECDSA_P256' }),
    ])
    const signer = createWorkerSigner({ threads: 2, keyPool: { ECDSA_P256: 4 } })
    try {
      await signer.keyPoolFilled()
      const pooled = await signer.generateKeyPair('ECDSA_P256')
      expect(signer.stats().keysFromPool).toBe(1)
      const requests = [
        leafRequest({ generate: 'ED25519' }),
        leafRequest({ generate: 'ECDSA_P256' }),
        leafRequest({ spki: pooled.spki }),
        ...leafRequests(40, { spki: certificateSpki(ecCa.signing.certificate) }),
      ]
      for (const ca of [rsaCa, ecCa]) {
        const outcomes = await signer.issue(ca.signing, requests)
        const issuer = new X509Certificate(ca.signing.certificate)
        for (const outcome of outcomes) {
          if (!outcome.ok) throw new Error(outcome.error.message)
          const leaf = new X509Certificate(outcome.leaf.certificate)
          expect(leaf.verify(issuer.publicKey)).toBe(true)
          expect(leaf.checkIssued(issuer)).toBe(true)
        }
        expect(outcomes[0]?.ok && outcomes[0].leaf.privateKey).toBeTruthy()
        expect(outcomes[2]?.ok && outcomes[2].leaf.privateKey).toBeUndefined()
      }
    } finally {
      await signer.close()
    }
  })

  it('replaces a terminated thread', async () => {
    const ca = await createTestCa({ keyType: 'ECDSA_P256' })
    const pool = createSignerPool({ threads: 2 })
    const signer = createWorkerSigner({ pool, keyPool: {} })
    try {
      await signer.issue(ca.signing, leafRequests(4, { generate: 'ECDSA_P256' }))
      await pool.threads[0]?.terminate()
      await until(() => pool.threads.length === 2)
      const outcomes = await signer.issue(ca.signing, leafRequests(20, { generate: 'ECDSA_P256' }))
      expect(outcomes.every((o) => o.ok)).toBe(true)
    } finally {
      await signer.close()
      await pool.destroy()
    }
  })
})
