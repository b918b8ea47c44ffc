import {
  ECParameters,
  ECPrivateKey,
  id_ecPublicKey,
  id_secp256r1,
  id_secp384r1,
} from '@peculiar/asn1-ecc'
import { PrivateKey, PrivateKeyInfo } from '@peculiar/asn1-pkcs8'
import { id_rsaEncryption, RSAPrivateKey } from '@peculiar/asn1-rsa'
import { AsnConvert } from '@peculiar/asn1-schema'
import { AlgorithmIdentifier } from '@peculiar/asn1-x509'
import { MeshcaError } from '../errors.ts'
import { toArrayBuffer } from '../util/bytes.ts'
import { encodePem, type PemBlock } from './pem.ts'

const ID_ED25519 = '1.3.101.112'

export type PrivateKeyAlgorithm =
  | { readonly family: 'RSA' }
  | { readonly family: 'EC'; readonly curve: 'P-256' | 'P-384' }
  | { readonly family: 'Ed25519' }

export interface ParsedPrivateKey {
  readonly pkcs8: Uint8Array
  readonly algorithm: PrivateKeyAlgorithm
}

/**
 * Reads a private key from PEM the way Go's `tls.X509KeyPair` does: the first block whose label ends
 * in `PRIVATE KEY`, in PKCS#1, PKCS#8 or SEC1. Failures carry Go's messages, which Kuma returns to
 * users (`tls: failed to parse private key`, …).
 */
export function parsePrivateKeyPem(blocks: readonly PemBlock[]): ParsedPrivateKey {
  if (blocks.length === 0) throw keyError('tls: failed to find any PEM data in key input')
  const block = blocks.find((b) => b.label.endsWith('PRIVATE KEY'))
  if (!block) {
    if (blocks[0]?.label === 'CERTIFICATE') {
      throw keyError('tls: found a certificate rather than a key in the PEM for the private key')
    }
    const skipped = blocks.map((b) => b.label).join(' ')
    throw keyError(
      `tls: failed to find PEM block with type ending in "PRIVATE KEY" in key input after skipping PEM blocks of the following types: [${skipped}]`
    )
  }
  try {
    return toPkcs8(block)
  } catch (error) {
    throw keyError('tls: failed to parse private key', error)
  }
}

function keyError(message: string, cause?: unknown): MeshcaError {
  return new MeshcaError('CRYPTO', message, { cause })
}

function toPkcs8(block: PemBlock): ParsedPrivateKey {
  // Go tries PKCS#1, then PKCS#8, then SEC1 whatever the label says; so do we.
  const attempts = [fromPkcs1, fromPkcs8, fromSec1]
  let lastError: unknown
  for (const attempt of attempts) {
    try {
      return attempt(block.der)
    } catch (error) {
      lastError = error
    }
  }
  throw lastError
}

function fromPkcs1(der: Uint8Array): ParsedPrivateKey {
  const rsa = AsnConvert.parse(der, RSAPrivateKey)
  if (rsa.modulus.byteLength === 0) throw new Error('empty modulus')
  const info = new PrivateKeyInfo({
    privateKeyAlgorithm: new AlgorithmIdentifier({ algorithm: id_rsaEncryption, parameters: null }),
    privateKey: new PrivateKey(AsnConvert.serialize(rsa)),
  })
  return { pkcs8: new Uint8Array(AsnConvert.serialize(info)), algorithm: { family: 'RSA' } }
}

function fromPkcs8(der: Uint8Array): ParsedPrivateKey {
  const info = AsnConvert.parse(der, PrivateKeyInfo)
  const oid = info.privateKeyAlgorithm.algorithm
  if (oid === id_rsaEncryption) {
    AsnConvert.parse(info.privateKey.buffer, RSAPrivateKey)
    return { pkcs8: new Uint8Array(der), algorithm: { family: 'RSA' } }
  }
  if (oid === ID_ED25519) return { pkcs8: new Uint8Array(der), algorithm: { family: 'Ed25519' } }
  if (oid === id_ecPublicKey) {
    const params = info.privateKeyAlgorithm.parameters
    if (!params) throw new Error('EC key without curve')
    const curve = curveName(AsnConvert.parse(params, ECParameters).namedCurve)
    return { pkcs8: new Uint8Array(der), algorithm: { family: 'EC', curve } }
  }
  throw new Error(`unsupported private key algorithm ${oid}`)
}

function fromSec1(der: Uint8Array): ParsedPrivateKey {
  const ec = AsnConvert.parse(der, ECPrivateKey)
  const namedCurve = ec.parameters?.namedCurve
  const curve = curveName(namedCurve)
  if (namedCurve === undefined) throw new Error('EC key without curve')
  // PKCS#8 carries the curve in the algorithm identifier, not inside the SEC1 structure.
  const inner = new ECPrivateKey({
    version: 1,
    privateKey: ec.privateKey,
    ...(ec.publicKey ? { publicKey: ec.publicKey } : {}),
  })
  const info = new PrivateKeyInfo({
    privateKeyAlgorithm: new AlgorithmIdentifier({
      algorithm: id_ecPublicKey,
      parameters: AsnConvert.serialize(new ECParameters({ namedCurve })),
    }),
    privateKey: new PrivateKey(AsnConvert.serialize(inner)),
  })
  return {
    pkcs8: new Uint8Array(AsnConvert.serialize(info)),
    algorithm: { family: 'EC', curve },
  }
}

function curveName(oid: string | undefined): 'P-256' | 'P-384' {
  if (oid === id_secp256r1) return 'P-256'
  if (oid === id_secp384r1) return 'P-384'
  throw new Error(`unsupported EC curve ${oid ?? '(none)'}`)
}

/** The WebCrypto algorithm that signs certificates with this key (SHA-256 for RSA, as Go). */
export function signingAlgorithm(
  algorithm: PrivateKeyAlgorithm
): RsaHashedImportParams | EcKeyImportParams | { name: 'Ed25519' } {
  switch (algorithm.family) {
    case 'RSA':
      return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
    case 'EC':
      return { name: 'ECDSA', namedCurve: algorithm.curve }
    case 'Ed25519':
      return { name: 'Ed25519' }
  }
}

/** The hash that goes with an ECDSA signing key: Go's defaults (P-256 → SHA-256, P-384 → SHA-384). */
export function ecdsaHash(curve: 'P-256' | 'P-384'): 'SHA-256' | 'SHA-384' {
  return curve === 'P-256' ? 'SHA-256' : 'SHA-384'
}

export async function importPrivateKey(
  crypto: Crypto,
  key: ParsedPrivateKey,
  extractable = false
): Promise<CryptoKey> {
  try {
    return await crypto.subtle.importKey(
      'pkcs8',
      toArrayBuffer(key.pkcs8),
      signingAlgorithm(key.algorithm),
      extractable,
      ['sign']
    )
  } catch (error) {
    throw keyError('tls: failed to parse private key', error)
  }
}

/** Kuma writes RSA keys as PKCS#1 (`RSA PRIVATE KEY`); other keys are written as PKCS#8. */
export function privateKeyToPem(key: ParsedPrivateKey): string {
  if (key.algorithm.family === 'RSA') {
    const info = AsnConvert.parse(key.pkcs8, PrivateKeyInfo)
    return encodePem('RSA PRIVATE KEY', new Uint8Array(info.privateKey.buffer))
  }
  return encodePem('PRIVATE KEY', key.pkcs8)
}

/** The algorithm of a PKCS#8 key, for keys we generated ourselves. */
export function parsePkcs8(pkcs8: Uint8Array): ParsedPrivateKey {
  return fromPkcs8(pkcs8)
}
