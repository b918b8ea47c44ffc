/**
 * Compact JWS (RFC 7515) with the two algorithms meshca signs tokens with: RS256, which Kuma uses, and
 * ES256. WebCrypto only. Every failure to read or verify a token is `UNAUTHENTICATED`; messages say
 * what is wrong with the token, never what it contains.
 */
import { MeshcaError } from '../errors.ts'
import { fromBase64, fromUtf8, toArrayBuffer, toBase64, utf8 } from '../util/bytes.ts'

export const JWT_ALGORITHMS = ['RS256', 'ES256'] as const
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number]

export interface JwtHeader {
  readonly alg: string
  readonly kid?: string
  readonly typ?: string
}

export interface DecodedJwt {
  readonly header: JwtHeader
  /** Claims as sent: untrusted until the signature is verified. */
  readonly claims: Readonly<Record<string, unknown>>
  readonly signingInput: Uint8Array
  readonly signature: Uint8Array
}

/** A private key that signs tokens and the public key that checks them, with the `kid` they carry. */
export interface JwtKey {
  readonly kid: string
  readonly algorithm: JwtAlgorithm
  readonly privateKey: CryptoKey
  readonly publicKey: CryptoKey
}

/** A token this long is not one we issued; refusing it early bounds the work an attacker causes. */
const MAX_TOKEN_LENGTH = 16 * 1024

export function isJwtAlgorithm(value: unknown): value is JwtAlgorithm {
  return typeof value === 'string' && (JWT_ALGORITHMS as readonly string[]).includes(value)
}

/** Key generation and import parameters for each algorithm. */
export function jwtKeyAlgorithm(
  algorithm: JwtAlgorithm
): RsaHashedImportParams | EcKeyImportParams {
  return algorithm === 'RS256'
    ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
    : { name: 'ECDSA', namedCurve: 'P-256' }
}

function signatureAlgorithm(algorithm: JwtAlgorithm): AlgorithmIdentifier | EcdsaParams {
  // WebCrypto's ECDSA signature is r‖s, which is exactly the JWS encoding of ES256.
  return algorithm === 'RS256' ? { name: 'RSASSA-PKCS1-v1_5' } : { name: 'ECDSA', hash: 'SHA-256' }
}

export function base64UrlEncode(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

export function base64UrlDecode(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined
  const padded = text.replace(/-/g, '+').replace(/_/g, '/')
  return fromBase64(padded + '='.repeat((4 - (padded.length % 4)) % 4))
}

export async function signJwt(
  crypto: Crypto,
  key: Pick<JwtKey, 'kid' | 'algorithm' | 'privateKey'>,
  claims: Readonly<Record<string, unknown>>
): Promise<string> {
  const header: JwtHeader = { alg: key.algorithm, kid: key.kid, typ: 'JWT' }
  const signingInput = `${jsonPart(header)}.${jsonPart(claims)}`
  const signature = await crypto.subtle.sign(
    signatureAlgorithm(key.algorithm),
    key.privateKey,
    toArrayBuffer(utf8(signingInput))
  )
  return `${signingInput}.${base64UrlEncode(new Uint8Array(signature))}`
}

function jsonPart(value: unknown): string {
  return base64UrlEncode(utf8(JSON.stringify(value)))
}

function malformed(reason: string): MeshcaError {
  return new MeshcaError('UNAUTHENTICATED', `token is malformed: ${reason}`)
}

/** Splits and parses a compact JWS without checking anything but its shape. */
export function decodeJwt(token: string): DecodedJwt {
  if (token.length > MAX_TOKEN_LENGTH) throw malformed('too long')
  const parts = token.split('.')
  if (parts.length !== 3) throw malformed('expected three dot-separated parts')
  const [headerPart = '', claimsPart = '', signaturePart = ''] = parts
  const header = parseJsonPart(headerPart, 'header')
  const claims = parseJsonPart(claimsPart, 'claims')
  const signature = base64UrlDecode(signaturePart)
  if (signature === undefined) throw malformed('the signature is not base64url')
  if (typeof header.alg !== 'string') throw malformed('the header has no algorithm')
  if (header.kid !== undefined && typeof header.kid !== 'string') {
    throw malformed('the key id is not a string')
  }
  return {
    header: {
      alg: header.alg,
      ...(typeof header.kid === 'string' ? { kid: header.kid } : {}),
      ...(typeof header.typ === 'string' ? { typ: header.typ } : {}),
    },
    claims,
    signingInput: utf8(`${headerPart}.${claimsPart}`),
    signature,
  }
}

function parseJsonPart(part: string, what: string): Readonly<Record<string, unknown>> {
  const bytes = base64UrlDecode(part)
  if (bytes === undefined) throw malformed(`the ${what} is not base64url`)
  let value: unknown
  try {
    value = JSON.parse(fromUtf8(bytes))
  } catch {
    throw malformed(`the ${what} is not JSON`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw malformed(`the ${what} is not a JSON object`)
  }
  return value as Readonly<Record<string, unknown>>
}

/**
 * Checks the signature with `key`, refusing any algorithm but the key's own (a token cannot pick a
 * weaker one, or `none`), then the time claims against `now`.
 */
export async function verifyJwt(
  crypto: Crypto,
  decoded: DecodedJwt,
  key: Pick<JwtKey, 'algorithm' | 'publicKey'>,
  now: Date
): Promise<void> {
  if (decoded.header.alg !== key.algorithm) {
    throw new MeshcaError(
      'UNAUTHENTICATED',
      `token is signed with ${JSON.stringify(decoded.header.alg)}, expected ${key.algorithm}`
    )
  }
  const valid = await crypto.subtle.verify(
    signatureAlgorithm(key.algorithm),
    key.publicKey,
    toArrayBuffer(decoded.signature),
    toArrayBuffer(decoded.signingInput)
  )
  if (!valid) throw new MeshcaError('UNAUTHENTICATED', 'token signature is invalid')
  checkTimeClaims(decoded.claims, now)
}

/** `exp` and `nbf` (seconds since the epoch, RFC 7519); a token without `exp` is refused. */
export function checkTimeClaims(claims: Readonly<Record<string, unknown>>, now: Date): void {
  const seconds = now.getTime() / 1000
  const { exp, nbf } = claims
  if (typeof exp !== 'number' || !Number.isFinite(exp)) {
    throw new MeshcaError('UNAUTHENTICATED', 'token has no expiration time')
  }
  if (seconds >= exp) throw new MeshcaError('UNAUTHENTICATED', 'token is expired')
  if (nbf !== undefined && (typeof nbf !== 'number' || seconds < nbf)) {
    throw new MeshcaError('UNAUTHENTICATED', 'token is not valid yet')
  }
}
