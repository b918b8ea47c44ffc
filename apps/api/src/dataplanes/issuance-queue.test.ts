import {
  createInlineSigner,
  createMemoryStore,
  createMeshcaCore,
  generateEncryptionKey,
  type LeafRequest,
  type Signer,
} from '@meshca/core-mtls'
import { describe, expect, it } from 'vitest'
import { createIssuanceQueue } from './issuance-queue.ts'

function dataplane(service: string) {
  return {
    networking: {
      address: '10.0.0.1',
      inbound: [{ tags: { 'kuma.io/service': service }, other: {} }],
      other: {},
    },
    other: {},
  }
}

describe('the issuance queue', () => {
  it('sends the requests of one turn to the signer as one batch, reading the mesh once', async () => {
    const inline = createInlineSigner()
    const batches: number[] = []
    const signer: Signer = {
      generateKeyPair: (keyType) => inline.generateKeyPair(keyType),
      close: () => inline.close(),
      issue: (ca, requests: readonly LeafRequest[]) => {
        batches.push(requests.length)
        return inline.issue(ca, requests)
      },
    }
    const core = createMeshcaCore({
      store: createMemoryStore(),
      signer,
      encryptionKey: generateEncryptionKey(),
    })
    await core.meshes.create({
      type: 'Mesh',
      name: 'default',
      mesh: '',
      spec: {
        mtls: {
          enabledBackend: 'ca-1',
          backends: [{ name: 'ca-1', type: 'builtin', dpCert: { keyType: 'ECDSA_P256' } }],
        },
        other: {},
      },
    })
    let meshReads = 0
    const counted = {
      ...core,
      meshes: {
        ...core.meshes,
        get: (name: string) => {
          meshReads++
          return core.meshes.get(name)
        },
      },
    }
    const queue = createIssuanceQueue({ core: counted, maxBatch: 8 })
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        queue.issue({ mesh: 'default', name: `dp-${i}`, dataplane: dataplane(`svc-${i}`) })
      )
    )
    // Two batches in flight; which reaches the signer first is the runtime's scheduling (Bun differs).
    expect([...batches].sort((a, b) => b - a)).toEqual([8, 2])
    expect(meshReads).toBe(2)
    const uris = results.map((r) => (r.result.mode === 'DISABLED' ? [] : r.result.uris[0]))
    expect(uris).toEqual(Array.from({ length: 10 }, (_, i) => `spiffe://default/svc-${i}`))
    await expect(
      queue.issue({ mesh: 'nope', name: 'dp', dataplane: dataplane('svc') })
    ).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })
})
