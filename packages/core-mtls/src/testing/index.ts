/**
 * @module
 * Contract suites and fixtures for adapters of the core-mtls ports. Import from
 * `@meshca/core-mtls/testing` in an adapter's tests; it depends on vitest.
 */
export {
  createTestCa,
  memorySecretAccess,
  type TestCa,
  testCaContext,
  testCaFromPem,
} from './fixtures.ts'
export { runSignerContract, type SignerContractOptions } from './signer-contract.ts'
export { runStoreContract, type StoreContractOptions } from './store-contract.ts'
