/** A data plane identity as the data plane API sends it, and what a data plane checks of one. */
import { X509Certificate } from 'node:crypto'
import { verifyStrict } from '../openssl/verify.ts'

export interface Identity {
  readonly mode: string
  readonly certificateChain: string
  readonly privateKey?: string
  readonly trustBundle: string
  readonly backend: string
  readonly supportedBackends: string[]
  readonly generation: string
  readonly expiration: string
  readonly rotateAt: string
}

export function serialOf(identity: Identity): string {
  return new X509Certificate(identity.certificateChain).serialNumber
}

/**
 * `openssl verify -x509_strict` of the identity's leaf against a bundle (its own by default, or the
 * roots a peer holds), intermediates untrusted: openssl's output, or an error with its reason.
 */
export function verifyIdentity(
  identity: Pick<Identity, 'certificateChain' | 'trustBundle'>,
  bundle = identity.trustBundle
): string {
  const result = verifyStrict(bundle, identity.certificateChain)
  if (!result.ok) throw new Error(`openssl verify failed: ${result.output}`)
  return result.output
}
