/**
 * @module
 * The high-volume Signer of meshca: the core-mtls `Signer` port on a piscina worker pool. Workers
 * encode data plane leaves directly (the profile is fixed) and sign them with node:crypto; requests
 * are batched per CA, RSA keys are pre-generated in idle time, and a full queue fails fast with
 * SIGNER_SATURATED. Node is the reference runtime; the same pool runs on Bun and Deno (smoke-tested
 * in test/runtime), so no inline fallback is wired.
 */
export {
  createSignerPool,
  DEFAULT_NICE_INCREMENT,
  defaultThreadCount,
  type SignerPool,
  type SignerPoolOptions,
  signerWorkerUrl,
} from './signer-pool.ts'
export { retryAfterSeconds, SignerSaturatedError } from './signer-saturated-error.ts'
export {
  createWorkerSigner,
  DEFAULT_KEY_POOL,
  DEFAULT_MAX_BATCH_SIZE,
  DEFAULT_MAX_QUEUED_REQUESTS,
  DEFAULT_TASK_TIMEOUT_MS,
  type WorkerSigner,
  type WorkerSignerOptions,
  type WorkerSignerStats,
} from './worker-signer.ts'
