import { MeshcaError } from '../errors.ts'
import { certificateValidity } from './certificate-validity.ts'

export interface CaValidity {
  readonly notBefore: Date
  readonly notAfter: Date
}

/** The window in which every certificate of a CA chain is valid. */
export function chainValidity(certificates: readonly Uint8Array[]): CaValidity {
  let notBefore = Number.NEGATIVE_INFINITY
  let notAfter = Number.POSITIVE_INFINITY
  for (const der of certificates) {
    const cert = certificateValidity(der)
    notBefore = Math.max(notBefore, cert.notBefore.getTime())
    notAfter = Math.min(notAfter, cert.notAfter.getTime())
  }
  return { notBefore: new Date(notBefore), notAfter: new Date(notAfter) }
}

/**
 * Refuses CA material outside its validity: signing with an expired CA makes certificates no peer
 * accepts, and material can change without admission (files, Kubernetes Secrets, hand edits).
 */
export function assertCaValid(validity: CaValidity, now: Date, describe = ''): void {
  const prefix = describe ? `${describe}: ` : ''
  if (now.getTime() > validity.notAfter.getTime()) {
    throw new MeshcaError(
      'CA_UNAVAILABLE',
      `${prefix}the CA certificate has expired (not after ${validity.notAfter.toISOString()})`
    )
  }
  if (now.getTime() < validity.notBefore.getTime()) {
    throw new MeshcaError(
      'CA_UNAVAILABLE',
      `${prefix}the CA certificate is not valid yet (not before ${validity.notBefore.toISOString()})`
    )
  }
}
