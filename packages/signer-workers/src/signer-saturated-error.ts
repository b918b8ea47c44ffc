import { MeshcaError } from '@meshca/core-mtls'

/**
 * SIGNER_SATURATED with the hint the API turns into `Retry-After`. Callers identify it by its code
 * (`isMeshcaError(e, 'SIGNER_SATURATED')`) and read the hint with `retryAfterSeconds`.
 */
export class SignerSaturatedError extends MeshcaError {
  readonly retryAfterSeconds: number

  constructor(queued: number, retryAfterSeconds: number) {
    super(
      'SIGNER_SATURATED',
      `the signer has ${queued} requests waiting; retry in ${retryAfterSeconds} s`
    )
    this.retryAfterSeconds = retryAfterSeconds
  }
}

/**
 * A refusal without a stack trace. Under overload refusing is the hot path, and capturing a stack
 * costs more than the rest of the refusal while telling nothing (it always comes from `issue`).
 */
export function saturatedError(queued: number, retryAfter: number): SignerSaturatedError {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return new SignerSaturatedError(queued, retryAfter)
  } finally {
    Error.stackTraceLimit = limit
  }
}

/** The retry hint of a saturation error, read structurally so that it works across bundles. */
export function retryAfterSeconds(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const value = (error as { retryAfterSeconds?: unknown }).retryAfterSeconds
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined
}
