import '../polyfill.ts'
import * as x509 from '@peculiar/x509'
import type { KeyFamily } from '../ca/key-types.ts'
import { toArrayBuffer } from '../util/bytes.ts'

/** Clock skew a fresh certificate tolerates: NotBefore is this far in the past (Kuma: 10 s). */
export const BACKDATE_MS = 10_000

/**
 * Default data plane certificate lifetime: 30 days (decision 1 of docs/decisions.md; Kuma's code
 * says 24 h).
 */
export const DEFAULT_DATAPLANE_CERT_LIFETIME_MS = 30 * 24 * 3600 * 1000

/**
 * Key usage of a data plane certificate. Kuma always issues RSA leaves with digitalSignature,
 * keyEncipherment and keyAgreement; keyEncipherment means nothing for EC or Ed25519 keys (they
 * cannot encrypt), so those leaves carry digitalSignature and keyAgreement only.
 */
export function leafKeyUsage(family: KeyFamily): number {
  const { digitalSignature, keyEncipherment, keyAgreement } = x509.KeyUsageFlags
  return family === 'RSA'
    ? digitalSignature | keyEncipherment | keyAgreement
    : digitalSignature | keyAgreement
}

/** The key family of a SubjectPublicKeyInfo, from its algorithm OID. */
export function spkiKeyFamily(spki: Uint8Array): KeyFamily {
  const algorithm = new x509.PublicKey(toArrayBuffer(spki)).algorithm.name
  if (algorithm === 'RSASSA-PKCS1-v1_5' || algorithm === 'RSA-PSS' || algorithm === 'RSA-OAEP') {
    return 'RSA'
  }
  if (algorithm === 'ECDSA' || algorithm === 'ECDH') return 'EC'
  if (algorithm === 'Ed25519') return 'Ed25519'
  throw new Error(`unsupported public key algorithm ${algorithm}`)
}

/**
 * The authority key identifier a leaf carries: the CA's subject key identifier when it has one
 * (what Go copies), else the RFC 5280 SHA-1 of the CA's public key so that `x509_strict` verifiers,
 * which require an AKID on every non-root certificate, still accept the chain.
 */
export async function authorityKeyId(ca: x509.X509Certificate, crypto: Crypto): Promise<string> {
  const skid = ca.getExtension(x509.SubjectKeyIdentifierExtension)
  if (skid) return skid.keyId
  const computed = await x509.SubjectKeyIdentifierExtension.create(ca.publicKey, false, crypto)
  return computed.keyId
}

export function leafExtensions(params: {
  readonly family: KeyFamily
  readonly uris: readonly string[]
  readonly authorityKeyId: string
}): x509.Extension[] {
  const extensions: x509.Extension[] = [
    new x509.KeyUsagesExtension(leafKeyUsage(params.family), true),
    new x509.ExtendedKeyUsageExtension(
      [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
      false
    ),
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.AuthorityKeyIdentifierExtension(params.authorityKeyId, false),
  ]
  if (params.uris.length > 0) {
    // The subject is empty, so RFC 5280 §4.2.1.6 requires the SAN to be critical.
    extensions.push(
      new x509.SubjectAlternativeNameExtension(
        params.uris.map((value) => ({ type: 'url' as const, value })),
        true
      )
    )
  }
  return extensions
}
