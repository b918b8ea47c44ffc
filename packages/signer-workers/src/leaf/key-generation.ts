import type { Buffer } from 'node:buffer'
import { createECDH, type ECDH, generateKeyPairSync, type KeyPairSyncResult } from 'node:crypto'
import {
  derLengthSize,
  oid,
  TAG_BIT_STRING,
  TAG_OCTET_STRING,
  TAG_SEQUENCE,
  tlv,
} from '../der/der-writer.ts'
import type { WireKeyType } from '../wire/protocol.ts'
import type { LeafKeyFamily } from './key-family.ts'

export interface GeneratedKeyPair {
  readonly spki: Uint8Array
  readonly pkcs8: Uint8Array
}

export function keyTypeFamily(keyType: WireKeyType): LeafKeyFamily {
  if (keyType.startsWith('RSA_')) return 'RSA'
  if (keyType.startsWith('ECDSA_')) return 'EC'
  return 'Ed25519'
}

/**
 * A DER structure with holes: encoded once with zeros, then copied and filled per key. OpenSSL 3's
 * encoders cost more than generating an EC key (≈250 µs for the SPKI against ≈20 µs for the key),
 * so EC keys are written from their raw parts instead.
 */
interface KeyTemplate {
  readonly bytes: Uint8Array
  readonly holes: readonly (readonly [offset: number, length: number])[]
}

function fill(template: KeyTemplate, ...parts: readonly Uint8Array[]): Uint8Array {
  const out = template.bytes.slice()
  template.holes.forEach(([offset, length], i) => {
    const part = parts[i] as Uint8Array
    // Scalars may come back shorter than the field (leading zeros dropped): right-align them.
    out.set(part, offset + length - part.length)
  })
  return out
}

const ID_EC_PUBLIC_KEY = oid('1.2.840.10045.2.1')

interface EcCurve {
  readonly ecdh: ECDH
  readonly spki: KeyTemplate
  readonly pkcs8: KeyTemplate
}

function ecCurve(ecdhName: string, curveOid: string, scalarLength: number): EcCurve {
  const pointLength = 1 + 2 * scalarLength
  const algorithm = tlv(TAG_SEQUENCE, ID_EC_PUBLIC_KEY, oid(curveOid))
  const point = tlv(TAG_BIT_STRING, new Uint8Array(1 + pointLength))
  const spki = tlv(TAG_SEQUENCE, algorithm, point)
  // RFC 5915 ECPrivateKey inside PKCS#8, with the public key, as OpenSSL writes it.
  const ecPrivateKey = tlv(
    TAG_SEQUENCE,
    new Uint8Array([0x02, 0x01, 0x01]),
    tlv(TAG_OCTET_STRING, new Uint8Array(scalarLength)),
    tlv(0xa1, point)
  )
  const pkcs8 = tlv(
    TAG_SEQUENCE,
    new Uint8Array([0x02, 0x01, 0x00]),
    algorithm,
    tlv(TAG_OCTET_STRING, ecPrivateKey)
  )
  const publicTail = 1 + derLengthSize(point.length) + point.length
  return {
    ecdh: createECDH(ecdhName),
    spki: { bytes: spki, holes: [[spki.length - pointLength, pointLength]] },
    pkcs8: {
      bytes: pkcs8,
      holes: [
        [pkcs8.length - publicTail - scalarLength, scalarLength],
        [pkcs8.length - pointLength, pointLength],
      ],
    },
  }
}

const P256 = ecCurve('prime256v1', '1.2.840.10045.3.1.7', 32)
const P384 = ecCurve('secp384r1', '1.3.132.0.34', 48)

function ecKeyPair(curve: EcCurve): GeneratedKeyPair {
  // An ECDH object is the cheapest way node:crypto offers to an EC key pair's raw parts. Each
  // generateKeys() draws a new private key (OpenSSL's EC_KEY_generate_key) on the same object, and
  // the key is an ordinary EC key whatever the API's name says it is for.
  const point = curve.ecdh.generateKeys()
  const scalar = curve.ecdh.getPrivateKey()
  return { spki: fill(curve.spki, point), pkcs8: fill(curve.pkcs8, scalar, point) }
}

/**
 * Keys from generateKeyPairSync are encoded by the key generation itself, never exported from the
 * KeyObject afterwards: on Node 20 exporting such a key as JWK deadlocks when a garbage collection
 * runs the destructor of its key generation job during the export (seen here for EC and Ed25519).
 */
function generatedDer(pair: KeyPairSyncResult<Buffer, Buffer>): GeneratedKeyPair {
  return { spki: pair.publicKey, pkcs8: pair.privateKey }
}

/**
 * A fresh key pair as DER. Synchronous on purpose: this runs in a worker thread whose only job is
 * this batch, and the async variant would add a libuv round trip per key.
 */
export function generateKeyPairDer(keyType: WireKeyType): GeneratedKeyPair {
  switch (keyType) {
    case 'RSA_2048':
    case 'RSA_3072':
    case 'RSA_4096':
      // Generation takes ~100 ms and more; OpenSSL's encoders are noise next to it.
      return generatedDer(
        generateKeyPairSync('rsa', {
          modulusLength: Number(keyType.slice('RSA_'.length)),
          publicExponent: 0x10001,
          publicKeyEncoding: { type: 'spki', format: 'der' },
          privateKeyEncoding: { type: 'pkcs8', format: 'der' },
        })
      )
    case 'ECDSA_P256':
      return ecKeyPair(P256)
    case 'ECDSA_P384':
      return ecKeyPair(P384)
    case 'ED25519':
      return generatedDer(
        generateKeyPairSync('ed25519', {
          publicKeyEncoding: { type: 'spki', format: 'der' },
          privateKeyEncoding: { type: 'pkcs8', format: 'der' },
        })
      )
  }
}
