/**
 * @module
 * Contract suites and fixtures for adapters of the core-mtls ports. Import from
 * `@meshca/core-mtls/testing` in an adapter's tests; it depends on vitest.
 */
export { createTestCa, type TestCa, testCaFromPem } from './fixtures.ts'
export { runSignerContract, type SignerContractOptions } from './signer-contract.ts'
