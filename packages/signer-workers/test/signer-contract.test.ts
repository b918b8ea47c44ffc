import { runSignerContract } from '@meshca/core-mtls/testing'
import { createWorkerSigner } from '../src/index.ts'

// The suite asks for fresh ECDSA keys many times; a small pre-generated pool takes part as well.
runSignerContract('worker pool', {
  makeSigner: async () => createWorkerSigner({ threads: 2, keyPool: { ECDSA_P256: 8 } }),
})

runSignerContract('worker pool, one thread, no key pool, batches of one', {
  makeSigner: async () => createWorkerSigner({ threads: 1, keyPool: {}, maxBatchSize: 1 }),
  keyTypes: ['ECDSA_P256', 'ED25519'],
})
