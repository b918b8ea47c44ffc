import { Buffer } from 'node:buffer'
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import {
  bytesOf,
  children,
  contentOf,
  DerError,
  expectTag,
  oidToString,
  readElement,
} from '../der/der-reader.ts'
import {
  DER_NULL,
  DER_TRUE,
  oid,
  TAG_BIT_STRING,
  TAG_OCTET_STRING,
  TAG_OID,
  TAG_SEQUENCE,
  tlv,
} from '../der/der-writer.ts'
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

const ID_SUBJECT_KEY_IDENTIFIER = '2.5.29.14'

// Go's choices for each CA key type, which the oracle (@peculiar/x509 in core) makes as well.
const SIGNATURE_ALGORITHMS = {
  rsa: { algorithm: tlv(TAG_SEQUENCE, oid('1.2.840.113549.1.1.11'), DER_NULL), digest: 'sha256' },
  p256: { algorithm: tlv(TAG_SEQUENCE, oid('1.2.840.10045.4.3.2')), digest: 'sha256' },
  p384: { algorithm: tlv(TAG_SEQUENCE, oid('1.2.840.10045.4.3.3')), digest: 'sha384' },
  ed25519: { algorithm: tlv(TAG_SEQUENCE, oid('1.3.101.112')), digest: null },
} as const

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical
    ? tlv(TAG_SEQUENCE, oid(id), DER_TRUE, tlv(TAG_OCTET_STRING, value))
    : tlv(TAG_SEQUENCE, oid(id), tlv(TAG_OCTET_STRING, value))
}

/**
 * KeyUsage as a DER BIT STRING: digitalSignature (bit 0), keyEncipherment (bit 2) for RSA, and
 * keyAgreement (bit 4); trailing zero bits are dropped, so 3 bits of the one byte are unused.
 */
const KEY_USAGE: Readonly<Record<LeafKeyFamily, Uint8Array>> = {
  RSA: extension('2.5.29.15', true, new Uint8Array([0x03, 0x02, 0x03, 0xa8])),
  EC: extension('2.5.29.15', true, new Uint8Array([0x03, 0x02, 0x03, 0x88])),
  Ed25519: extension('2.5.29.15', true, new Uint8Array([0x03, 0x02, 0x03, 0x88])),
}

const EXTENDED_KEY_USAGE = extension(
  '2.5.29.37',
  false,
  tlv(TAG_SEQUENCE, oid('1.3.6.1.5.5.7.3.1'), oid('1.3.6.1.5.5.7.3.2'))
)

const BASIC_CONSTRAINTS = extension('2.5.29.19', true, tlv(TAG_SEQUENCE))

function authorityKeyIdentifier(keyId: Uint8Array): Uint8Array {
  return extension('2.5.29.35', false, tlv(TAG_SEQUENCE, tlv(0x80, keyId)))
}

interface ParsedCaCertificate {
  readonly subject: Uint8Array
  readonly spki: Uint8Array
  readonly subjectPublicKey: Uint8Array
  readonly subjectKeyId: Uint8Array | undefined
}

function parseCaCertificate(der: Uint8Array): ParsedCaCertificate {
  const certificate = expectTag(readElement(der, 0), TAG_SEQUENCE, 'Certificate')
  const [tbs] = children(der, certificate)
  const fields = children(der, expectTag(tbs, TAG_SEQUENCE, 'TBSCertificate'))
  // The version is the only optional field before the subject public key.
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0
  const subject = expectTag(fields[offset + 4], TAG_SEQUENCE, 'subject')
  const spki = expectTag(fields[offset + 5], TAG_SEQUENCE, 'subjectPublicKeyInfo')
  const bitString = expectTag(children(der, spki)[1], TAG_BIT_STRING, 'subjectPublicKey')
  let subjectKeyId: Uint8Array | undefined
  const extensions = fields.slice(offset + 6).find((f) => f.tag === 0xa3)
  if (extensions) {
    const list = expectTag(children(der, extensions)[0], TAG_SEQUENCE, 'Extensions')
    for (const ext of children(der, list)) {
      const parts = children(der, expectTag(ext, TAG_SEQUENCE, 'Extension'))
      const id = oidToString(contentOf(der, expectTag(parts[0], TAG_OID, 'extnID')))
      if (id !== ID_SUBJECT_KEY_IDENTIFIER) continue
      const value = expectTag(parts[parts.length - 1], TAG_OCTET_STRING, 'extnValue')
      const inner = expectTag(
        readElement(der, value.contentStart, value.end),
        TAG_OCTET_STRING,
        'keyIdentifier'
      )
      subjectKeyId = contentOf(der, inner)
    }
  }
  return {
    subject: bytesOf(der, subject),
    spki: bytesOf(der, spki),
    // RFC 5280 §4.2.1.2 (1) hashes the BIT STRING's bits, without its unused-bits byte.
    subjectPublicKey: der.subarray(bitString.contentStart + 1, bitString.end),
    subjectKeyId,
  }
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

/** Parses CA material once; every leaf it signs then costs only the variable fields. */
export function prepareCaTemplate(certificate: Uint8Array, privateKey: Uint8Array): CaTemplate {
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
  const keyId =
    parsed.subjectKeyId ??
    new Uint8Array(createHash('sha1').update(parsed.subjectPublicKey).digest())
  const akid = authorityKeyIdentifier(keyId)
  const fixed = (family: LeafKeyFamily) => {
    const parts = [KEY_USAGE[family], EXTENDED_KEY_USAGE, BASIC_CONSTRAINTS, akid]
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
    let offset = 0
    for (const part of parts) {
      out.set(part, offset)
      offset += part.length
    }
    return out
  }
  return {
    issuer: new Uint8Array(parsed.subject),
    signatureAlgorithm: algorithm,
    fixedExtensions: { RSA: fixed('RSA'), EC: fixed('EC'), Ed25519: fixed('Ed25519') },
    digest,
    key,
  }
}
