/** The README's example, as written there, plus one identity issued through it. */
import { createMemoryStore, createMeshcaCore, generateEncryptionKey } from '@meshca/core-mtls'
import { createTestCa } from '@meshca/core-mtls/testing'
import { expect, it } from 'vitest'
import { createSignerPool, createWorkerSigner } from '../src/index.ts'
import { leafRequest } from './support/requests.ts'

it('wires the pool into core as the README shows', async () => {
  const pool = createSignerPool()
  const signer = createWorkerSigner({ pool, keyPool: { RSA_2048: 2 } })
  const core = createMeshcaCore({
    store: createMemoryStore(),
    signer,
    encryptionKey: generateEncryptionKey(),
  })
  expect(core.identities).toBeDefined()
  const ca = await createTestCa({ keyType: 'RSA_2048' })
  const [outcome] = await signer.issue(ca.signing, [leafRequest({ generate: 'RSA_2048' })])
  expect(outcome?.ok).toBe(true)
  await signer.close()
  await pool.destroy()
})
