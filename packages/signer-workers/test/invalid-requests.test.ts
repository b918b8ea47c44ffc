/** Bad requests fail alone, with a MeshcaError naming the field; bad CA material fails the batch. */
import { generateKeyPairSync } from 'node:crypto'
import { isMeshcaError, type LeafRequest } from '@meshca/core-mtls'
import { createTestCa, type TestCa } from '@meshca/core-mtls/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWorkerSigner, type WorkerSigner } from '../src/index.ts'
import { certificateSpki } from './support/der.ts'
import { leafRequest } from './support/requests.ts'

describe('invalid requests', () => {
  let ca: TestCa
  let signer: WorkerSigner

  beforeAll(async () => {
    ca = await createTestCa({ keyType: 'ECDSA_P256' })
    signer = createWorkerSigner({ threads: 1, keyPool: {} })
  })

  afterAll(async () => {
    await signer.close()
  })

  it('fails each bad request with its field, and issues the others of the batch', async () => {
    const good = leafRequest({ spki: certificateSpki(ca.signing.certificate) })
    const requests: LeafRequest[] = [
      { ...good, serialNumber: new Uint8Array([0, 0]) },
      { ...good, uris: ['spiffe://default/web', 'kuma://kuma.io/zone/zürich'] },
      { ...good, notAfter: new Date(Date.UTC(10_000, 0, 1)) },
      { ...good, subjectKey: { spki: new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]) } },
      { ...good, subjectKey: { generate: 'DSA_1024' as never } },
      good,
    ]
    const outcomes = await signer.issue(ca.signing, requests)
    const summary = outcomes.map((o) =>
      o.ok ? 'ok' : `${o.error.code} ${o.error.path ?? ''}`.trim()
    )
    expect(summary).toEqual([
      'INVALID serialNumber',
      'INVALID uris[1]',
      'INVALID notAfter',
      'CRYPTO',
      'INVALID subjectKey.generate',
      'ok',
    ])
    for (const outcome of outcomes) if (!outcome.ok) expect(isMeshcaError(outcome.error)).toBe(true)
  })

  it('fails the whole batch with CA_UNAVAILABLE when the CA key does not match its certificate', async () => {
    const otherKey = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      publicKeyEncoding: { type: 'spki', format: 'der' },
      privateKeyEncoding: { type: 'pkcs8', format: 'der' },
    }).privateKey
    const broken = { ...ca.signing, id: 'mismatched', privateKey: new Uint8Array(otherKey) }
    const outcomes = await signer.issue(broken, [
      leafRequest({ generate: 'ECDSA_P256' }),
      leafRequest({ generate: 'ED25519' }),
    ])
    for (const outcome of outcomes) {
      expect(outcome.ok).toBe(false)
      if (!outcome.ok) {
        expect(isMeshcaError(outcome.error, 'CA_UNAVAILABLE')).toBe(true)
        expect(outcome.error.message).toMatch(/does not match/)
      }
    }
    // The signer is unharmed: the right CA still signs.
    const [ok] = await signer.issue(ca.signing, [leafRequest({ generate: 'ECDSA_P256' })])
    expect(ok?.ok).toBe(true)
  })
})
