import { runSignerContract } from '../testing/signer-contract.ts'
import { createInlineSigner } from './inline-signer.ts'

runSignerContract('inline', { makeSigner: async () => createInlineSigner() })
