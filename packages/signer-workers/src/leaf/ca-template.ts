import { Buffer } from 'node:buffer'
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import { bytesOf, children, DerError, expectTag, readElement } from '../der/der-reader.ts'
import { DER_NULL, oid, TAG_SEQUENCE, tlv } from '../der/der-writer.ts'
import type { LeafKeyFamily } from './key-family.ts'

/**
 * Everything about a leaf that depends only on the CA, encoded once: the issuer name copied from
 * the CA's subject, the signature algorithm, and the fixed extensions for each key family.
 */
export interface CaTemplate {
  readonly issuer: Uint8Array
  readonly signatureAlgorithm: Uint8Array
  /** KeyUsage, ExtendedKeyUsage, BasicConstraints and AuthorityKeyIdentifier, in profile order. */
  readonly fixedExtensions: Readonly<Record<LeafKeyFamily, Uint8Array>>
  /** Digest for `crypto.sign`; `null` for Ed25519, which hashes internally. */
  readonly digest: string | null
  readonly key: KeyObject
}

/** CA material that cannot sign; the pool reports it as CA_UNAVAILABLE for the whole batch. */
export class CaMaterialError extends Error {
  override readonly name = 'CaMaterialError'
}

// Go's choices for each CA key type, which the oracle (@peculiar/x509 in core) makes as well.
const SIGNATURE_ALGORITHMS = {
  rsa: { algorithm: tlv(TAG_SEQUENCE, oid('1.2.840.113549.1.1.11'), DER_NULL), digest: 'sha256' },
  p256: { algorithm: tlv(TAG_SEQUENCE, oid('1.2.840.10045.4.3.2')), digest: 'sha256' },
  p384: { algorithm: tlv(TAG_SEQUENCE, oid('1.2.840.10045.4.3.3')), digest: 'sha384' },
  ed25519: { algorithm: tlv(TAG_SEQUENCE, oid('1.3.101.112')), digest: null },
} as const

interface ParsedCaCertificate {
  readonly subject: Uint8Array
  readonly spki: Uint8Array
}

function parseCaCertificate(der: Uint8Array): ParsedCaCertificate {
  const certificate = expectTag(readElement(der, 0), TAG_SEQUENCE, 'Certificate')
  const [tbs] = children(der, certificate)
  const fields = children(der, expectTag(tbs, TAG_SEQUENCE, 'TBSCertificate'))
  // The version is the only optional field before the subject public key.
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0
  const subject = expectTag(fields[offset + 4], TAG_SEQUENCE, 'subject')
  const spki = expectTag(fields[offset + 5], TAG_SEQUENCE, 'subjectPublicKeyInfo')
  return { subject: bytesOf(der, subject), spki: bytesOf(der, spki) }
}

function signatureAlgorithmOf(
  key: KeyObject
): (typeof SIGNATURE_ALGORITHMS)[keyof typeof SIGNATURE_ALGORITHMS] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return SIGNATURE_ALGORITHMS.rsa
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve
      if (curve === 'prime256v1') return SIGNATURE_ALGORITHMS.p256
      if (curve === 'secp384r1') return SIGNATURE_ALGORITHMS.p384
      throw new CaMaterialError(`unsupported CA curve ${curve ?? '(unknown)'}`)
    }
    case 'ed25519':
      return SIGNATURE_ALGORITHMS.ed25519
    default:
      throw new CaMaterialError(`unsupported CA key type ${key.asymmetricKeyType ?? '(unknown)'}`)
  }
}

/**
 * Parses CA material once; every leaf it signs then costs only the variable fields. The fixed
 * extensions come encoded from the pool's thread (see `fixedLeafExtensions`), derived from core's
 * leaf profile; `undefined` means core could not read the certificate.
 */
export function prepareCaTemplate(
  certificate: Uint8Array,
  privateKey: Uint8Array,
  fixedExtensions: CaTemplate['fixedExtensions'] | undefined
): CaTemplate {
  let parsed: ParsedCaCertificate
  try {
    parsed = parseCaCertificate(certificate)
  } catch (error) {
    const detail = error instanceof DerError ? error.message : 'unreadable'
    throw new CaMaterialError(`could not read CA certificate: ${detail}`)
  }
  let key: KeyObject
  try {
    key = createPrivateKey({ key: Buffer.from(privateKey), format: 'der', type: 'pkcs8' })
  } catch {
    // The OpenSSL message is dropped on purpose: it may quote parts of the key.
    throw new CaMaterialError('could not read CA private key')
  }
  const { algorithm, digest } = signatureAlgorithmOf(key)
  let matches = false
  try {
    const certificateKey = createPublicKey({
      key: Buffer.from(parsed.spki),
      format: 'der',
      type: 'spki',
    })
    matches = certificateKey.equals(createPublicKey(key))
  } catch {
    matches = false
  }
  // A mismatched pair would sign leaves that no peer can verify; refuse it before the first one.
  if (!matches) throw new CaMaterialError('CA private key does not match the CA certificate')
  // Our own reader took it, core's did not: refuse it rather than sign without the profile.
  if (!fixedExtensions) throw new CaMaterialError('could not read CA certificate')
  return {
    issuer: new Uint8Array(parsed.subject),
    signatureAlgorithm: algorithm,
    fixedExtensions,
    digest,
    key,
  }
}
