/**
 * Token signing keys kept as Secrets, as Kuma keeps them (`dataplane-token-signing-key-<mesh>-1`,
 * `user-token-signing-key-1`): every control plane instance sharing the store signs and verifies with
 * the same key, the key is encrypted at rest with the other Secrets, and deleting the Secret (or its
 * mesh) invalidates every token it signed.
 */
import type { SecretAccess } from '../ca/ca-backend.ts'
import { decodePem } from '../ca/pem.ts'
import { parsePkcs8, parsePrivateKeyPem, privateKeyToPem } from '../ca/private-key.ts'
import { isMeshcaError, MeshcaError } from '../errors.ts'
import { fromUtf8, toArrayBuffer, utf8 } from '../util/bytes.ts'
import { type JwtAlgorithm, type JwtKey, jwtKeyAlgorithm } from './jwt.ts'

/** Kuma's `tokens.DefaultKeyID`: the first key of a location, and the one that signs. */
export const DEFAULT_SIGNING_KEY_ID = '1'

/** A key id names a Secret: only Kuma's serial numbers are accepted from a token's header. */
const KEY_ID = /^[0-9]{1,9}$/

export interface TokenSigningKeys {
  /** The key new tokens are signed with; generated and stored on first use. */
  current(): Promise<JwtKey>
  /** The key a token names, or `undefined` when its Secret does not exist (anymore). */
  find(kid: string): Promise<JwtKey | undefined>
}

export interface TokenSigningKeysOptions {
  /** Where the Secrets live: the control plane's own access, which skips the user-facing guard. */
  readonly secrets: SecretAccess
  readonly mesh: string
  /** Secret names are `<prefix>-<kid>`. */
  readonly namePrefix: string
  /** For keys generated here; a stored key keeps the algorithm of its type. Default RS256, as Kuma. */
  readonly algorithm?: JwtAlgorithm
  readonly crypto?: Crypto
}

export function signingKeySecretName(namePrefix: string, kid: string): string {
  return `${namePrefix}-${kid}`
}

export function createTokenSigningKeys(options: TokenSigningKeysOptions): TokenSigningKeys {
  const crypto = options.crypto ?? globalThis.crypto
  const algorithm = options.algorithm ?? 'RS256'
  const { secrets, mesh, namePrefix } = options
  // Parsing and importing a key costs more than reading its Secret: keep it while the bytes stay.
  const imported = new Map<string, { readonly version: string; readonly key: Promise<JwtKey> }>()

  async function find(kid: string): Promise<JwtKey | undefined> {
    if (!KEY_ID.test(kid)) return undefined
    const name = signingKeySecretName(namePrefix, kid)
    const secret = await secrets.get(mesh, name)
    if (secret === undefined) {
      imported.delete(kid)
      return undefined
    }
    const cached = imported.get(kid)
    if (cached !== undefined && cached.version === secret.version) return cached.key
    const key = importSigningKey(crypto, kid, secret.data, `Secret "${name}"`)
    imported.set(kid, { version: secret.version, key })
    key.catch(() => imported.delete(kid))
    return key
  }

  return {
    find,
    async current() {
      const existing = await find(DEFAULT_SIGNING_KEY_ID)
      if (existing !== undefined) return existing
      const pem = await generateSigningKeyPem(crypto, algorithm)
      try {
        await secrets.create(mesh, signingKeySecretName(namePrefix, DEFAULT_SIGNING_KEY_ID), pem)
      } catch (error) {
        // Another instance created it first: everyone signs with the stored one.
        if (!isMeshcaError(error, 'ALREADY_EXISTS')) throw error
      }
      const stored = await find(DEFAULT_SIGNING_KEY_ID)
      if (stored === undefined) {
        throw new MeshcaError('INTERNAL', `the token signing key of ${describe(mesh)} vanished`)
      }
      return stored
    },
  }
}

function describe(mesh: string): string {
  return `mesh ${JSON.stringify(mesh)}`
}

/** A fresh key as PEM: RSA 2048 in PKCS#1 as Kuma writes it, or a P-256 key in PKCS#8. */
export async function generateSigningKeyPem(
  crypto: Crypto,
  algorithm: JwtAlgorithm
): Promise<Uint8Array> {
  const params =
    algorithm === 'RS256'
      ? {
          ...jwtKeyAlgorithm(algorithm),
          modulusLength: 2048,
          publicExponent: new Uint8Array([1, 0, 1]),
        }
      : jwtKeyAlgorithm(algorithm)
  const pair = (await crypto.subtle.generateKey(params, true, ['sign', 'verify'])) as CryptoKeyPair
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey))
  return utf8(privateKeyToPem(parsePkcs8(pkcs8)))
}

/** Reads a stored key; its type decides the algorithm (RSA → RS256, P-256 → ES256). */
export async function importSigningKey(
  crypto: Crypto,
  kid: string,
  pem: Uint8Array,
  what: string
): Promise<JwtKey> {
  const unusable = (reason: string, cause?: unknown) =>
    new MeshcaError('CORRUPTED', `${what} is not a usable token signing key: ${reason}`, {
      ...(cause === undefined ? {} : { cause }),
    })
  let parsed: ReturnType<typeof parsePrivateKeyPem>
  try {
    parsed = parsePrivateKeyPem(decodePem(fromUtf8(pem)))
  } catch (error) {
    throw unusable('not a PEM private key', error)
  }
  let algorithm: JwtAlgorithm
  if (parsed.algorithm.family === 'RSA') algorithm = 'RS256'
  else if (parsed.algorithm.family === 'EC' && parsed.algorithm.curve === 'P-256') {
    algorithm = 'ES256'
  } else throw unusable('only RSA and P-256 keys sign tokens')
  const importParams = jwtKeyAlgorithm(algorithm)
  try {
    const privateKey = await crypto.subtle.importKey(
      'pkcs8',
      toArrayBuffer(parsed.pkcs8),
      importParams,
      true,
      ['sign']
    )
    // WebCrypto has no "public key of this private key": the JWK without private members is it.
    const jwk = await crypto.subtle.exportKey('jwk', privateKey)
    const members =
      jwk.kty === 'RSA' ? (['kty', 'n', 'e'] as const) : (['kty', 'crv', 'x', 'y'] as const)
    const publicJwk: JsonWebKey = { ext: true }
    for (const member of members) {
      const value = jwk[member]
      if (value !== undefined) publicJwk[member] = value
    }
    const publicKey = await crypto.subtle.importKey('jwk', publicJwk, importParams, true, [
      'verify',
    ])
    const signer = await crypto.subtle.importKey(
      'pkcs8',
      toArrayBuffer(parsed.pkcs8),
      importParams,
      false,
      ['sign']
    )
    return { kid, algorithm, privateKey: signer, publicKey }
  } catch (error) {
    throw unusable('the key cannot be imported', error)
  }
}
