/**
 * Key types meshca can generate and sign with (decision 16 of docs/decisions.md). Kuma itself only
 * knows RSA-2048.
 */

export const KEY_TYPES = [
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'ECDSA_P256',
  'ECDSA_P384',
  'ED25519',
] as const

export type KeyType = (typeof KEY_TYPES)[number]

/**
 * Key types a CA may have beyond those of data plane keys: a builtin root of 8192 bits (`RSAbits`)
 * signs seldom, so its slow key generation and signatures cost once, not per data plane.
 */
export type CaKeyType = KeyType | 'RSA_8192'

export const DEFAULT_DATAPLANE_KEY_TYPE: KeyType = 'RSA_2048'

export function isKeyType(value: unknown): value is KeyType {
  return typeof value === 'string' && (KEY_TYPES as readonly string[]).includes(value)
}

export type KeyFamily = 'RSA' | 'EC' | 'Ed25519'

export function keyFamily(keyType: KeyType): KeyFamily {
  if (keyType.startsWith('RSA_')) return 'RSA'
  if (keyType.startsWith('ECDSA_')) return 'EC'
  return 'Ed25519'
}

export type KeyAlgorithmParams = RsaHashedKeyGenParams | EcKeyGenParams | { name: 'Ed25519' }

const F4 = new Uint8Array([1, 0, 1])

/** WebCrypto parameters that generate a key of this type and later sign with it. */
export function keyGenParams(keyType: CaKeyType): KeyAlgorithmParams {
  switch (keyType) {
    case 'RSA_2048':
    case 'RSA_3072':
    case 'RSA_4096':
    case 'RSA_8192':
      return {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: rsaBits(keyType),
        publicExponent: F4,
        hash: 'SHA-256',
      }
    case 'ECDSA_P256':
      return { name: 'ECDSA', namedCurve: 'P-256' }
    case 'ECDSA_P384':
      return { name: 'ECDSA', namedCurve: 'P-384' }
    case 'ED25519':
      return { name: 'Ed25519' }
  }
}

export function rsaBits(keyType: CaKeyType): number {
  return Number(keyType.slice('RSA_'.length))
}

/** RSA key types by modulus size, for the builtin CA's `RSAbits`. */
export function rsaKeyType(bits: number): CaKeyType | undefined {
  const candidate = `RSA_${bits}`
  return isKeyType(candidate) || candidate === 'RSA_8192' ? candidate : undefined
}
