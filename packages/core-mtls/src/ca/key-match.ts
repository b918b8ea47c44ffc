import { toArrayBuffer } from '../util/bytes.ts'
import { type ParsedPrivateKey, signingAlgorithm } from './private-key.ts'

/**
 * Whether a private key belongs to a certificate's public key. WebCrypto cannot derive a public key
 * from a private one, but it exports both as JWK, whose public members (`n`/`e`, `x`/`y`, `x`)
 * are comparable.
 */
export async function privateKeyMatchesSpki(
  crypto: Crypto,
  key: ParsedPrivateKey,
  spki: Uint8Array
): Promise<boolean> {
  const algorithm = signingAlgorithm(key.algorithm)
  let publicJwk: JsonWebKey
  let privateJwk: JsonWebKey
  try {
    const publicKey = await crypto.subtle.importKey('spki', toArrayBuffer(spki), algorithm, true, [
      'verify',
    ])
    publicJwk = await crypto.subtle.exportKey('jwk', publicKey)
  } catch {
    // The certificate's key is of another type than the private key.
    return false
  }
  const privateKey = await crypto.subtle.importKey(
    'pkcs8',
    toArrayBuffer(key.pkcs8),
    algorithm,
    true,
    ['sign']
  )
  privateJwk = await crypto.subtle.exportKey('jwk', privateKey)
  const members = ['kty', 'crv', 'n', 'e', 'x', 'y'] as const
  return members.every((m) => publicJwk[m] === privateJwk[m])
}
