/**
 * One error type for the whole of meshca. Callers branch on `code`, never on `instanceof` across
 * packages (a second copy of this module in a bundle would break `instanceof`).
 * Messages never carry key material.
 */

export const ERROR_CODES = [
  /** Input failed validation; `violations` says where and why. */
  'INVALID',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  /** Optimistic concurrency: the version the caller holds is not the stored one. */
  'CONFLICT',
  'MESH_NOT_FOUND',
  /** The store cannot be reached; nothing was written. */
  'STORE_UNAVAILABLE',
  /** The signer's queue is full; retry later. */
  'SIGNER_SATURATED',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  /** CA material could not be loaded or used (missing secret, broken key). */
  'CA_UNAVAILABLE',
  /** A cryptographic operation failed (bad CSR signature, unsupported key). */
  'CRYPTO',
  /** Stored data is unreadable (corrupted row, wrong encryption key). */
  'CORRUPTED',
  'INTERNAL',
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

/** Kuma's `{field, message}`: a field path in our natural notation (`mtls.backends[0].name`). */
export interface Violation {
  readonly field: string
  readonly message: string
}

export interface MeshcaErrorOptions {
  readonly path?: string
  readonly violations?: readonly Violation[]
  readonly cause?: unknown
}

export class MeshcaError extends Error {
  override readonly name = 'MeshcaError'
  readonly code: ErrorCode
  /** Field path the error is about, when there is one. */
  readonly path: string | undefined
  readonly violations: readonly Violation[]

  constructor(code: ErrorCode, message: string, options: MeshcaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.path = options.path ?? options.violations?.[0]?.field
    this.violations = options.violations ?? []
  }
}

/** Structural check that survives duplicated module copies and worker boundaries. */
export function isMeshcaError(value: unknown, code?: ErrorCode): value is MeshcaError {
  if (typeof value !== 'object' || value === null) return false
  const candidate = value as { name?: unknown; code?: unknown }
  if (candidate.name !== 'MeshcaError' || typeof candidate.code !== 'string') return false
  return code === undefined || candidate.code === code
}

/** Kuma renders a validation error as `field: message; field2: message2`. */
export function formatViolations(violations: readonly Violation[]): string {
  return violations.map((v) => (v.field === '' ? v.message : `${v.field}: ${v.message}`)).join('; ')
}

export function validationError(violations: readonly Violation[]): MeshcaError {
  return new MeshcaError('INVALID', formatViolations(violations), { violations })
}

/** Wraps anything thrown by a dependency so that nothing untyped leaves core. */
export function toMeshcaError(error: unknown, code: ErrorCode, message: string): MeshcaError {
  if (isMeshcaError(error)) return error
  const detail = error instanceof Error ? error.message : String(error)
  return new MeshcaError(code, `${message}: ${detail}`, { cause: error })
}
