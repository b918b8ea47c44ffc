/**
 * @module
 * The openssl CLI as the tests' independent implementation: it makes CA material the code under
 * test did not make, and verifies and parses what the code under test made.
 */
export { type CaOptions, type OpensslCa, OpensslCaBuilder } from './ca-builder.ts'
export {
  BRIEF_CA_EXTENSIONS,
  briefSampleCa,
  CA_EXTENSIONS,
  intermediateCa,
  type OpensslChain,
  opensslChain,
  renewedCa,
  selfSignedCa,
} from './cas.ts'
export { type KeyKind, newKeyArgs, opensslKey } from './keys.ts'
export { base64, certificatesIn, toPem } from './pem.ts'
export { extConfig, opensslCsr, opensslRequest } from './requests.ts'
export {
  type OpensslResult,
  openssl,
  opensslFiles,
  opensslOk,
  runOpenssl,
  withTempDir,
} from './run.ts'
export { certificateText, verifyLeaves, verifyStrict } from './verify.ts'
