import { toArrayBuffer } from '../util/bytes.ts'

/**
 * Smallest RSA modulus meshca accepts anywhere: a data plane's CSR, a provided CA. Debian's OpenSSL
 * (security level 2) refuses smaller keys in a TLS chain, so a certificate under one fails handshakes.
 */
export const MIN_RSA_BITS = 2048

/** `undefined` when `spki` is not an RSA key WebCrypto can import (RSA-PSS-only, malformed). */
export async function rsaModulusBits(
  crypto: Crypto,
  spki: Uint8Array
): Promise<number | undefined> {
  try {
    const key = await crypto.subtle.importKey(
      'spki',
      toArrayBuffer(spki),
      { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      true,
      ['verify']
    )
    return (key.algorithm as RsaHashedKeyAlgorithm).modulusLength
  } catch {
    return undefined
  }
}

export function weakRsaKeyMessage(bits: number): string {
  return `RSA key of ${bits} bits is too weak; at least ${MIN_RSA_BITS} bits are required`
}
