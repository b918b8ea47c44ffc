import type { KeyType } from '../ca/key-types.ts'
import type { MeshcaError } from '../errors.ts'

/**
 * The issuing side of a CA, as bytes so that it can cross thread boundaries. `id` identifies the
 * material (a digest of certificate and key) so that a pool sends it to each worker once.
 */
export interface SigningCa {
  readonly id: string
  /** DER of the certificate that signs: its subject becomes the leaf's issuer. */
  readonly certificate: Uint8Array
  /** PKCS#8 DER of its private key. */
  readonly privateKey: Uint8Array
}

export type SubjectKey =
  /** The signer generates the key pair (the control plane keeps the private key). */
  | { readonly generate: KeyType }
  /** The subject brings its own key (CSR flow): its SubjectPublicKeyInfo DER. */
  | { readonly spki: Uint8Array }

/** Everything that varies between two data plane certificates; the rest is the fixed leaf profile. */
export interface LeafRequest {
  readonly subjectKey: SubjectKey
  /** Positive big-endian integer, at most 20 bytes. */
  readonly serialNumber: Uint8Array
  readonly notBefore: Date
  readonly notAfter: Date
  /** URI SANs in the order they appear in the certificate. */
  readonly uris: readonly string[]
}

export interface IssuedLeaf {
  /** DER of the leaf certificate. */
  readonly certificate: Uint8Array
  /** PKCS#8 DER, present when the signer generated the key. */
  readonly privateKey?: Uint8Array
}

export type IssueOutcome =
  | { readonly ok: true; readonly leaf: IssuedLeaf }
  | { readonly ok: false; readonly error: MeshcaError }

export interface KeyPairBytes {
  readonly keyType: KeyType
  /** SubjectPublicKeyInfo DER. */
  readonly spki: Uint8Array
  /** PKCS#8 DER. */
  readonly pkcs8: Uint8Array
}

/**
 * Turns leaf requests into certificates. A batch fails per request (`IssueOutcome`), so one bad
 * request does not sink the others; the promise itself rejects only when the signer cannot take the
 * batch at all (SIGNER_SATURATED, or closed).
 */
export interface Signer {
  generateKeyPair(keyType: KeyType): Promise<KeyPairBytes>
  issue(ca: SigningCa, requests: readonly LeafRequest[]): Promise<IssueOutcome[]>
  close(): Promise<void>
}
