/**
 * What data plane tokens and user tokens share: registered claims (`jti`, `iat`, `nbf`, `exp`), a
 * signing key kept as a Secret, and a revocation list kept as a Secret of the same location
 * (Kuma: comma-separated token ids).
 */
import type { SecretAccess } from '../ca/ca-backend.ts'
import { MeshcaError } from '../errors.ts'
import type { Clock } from '../ports/runtime.ts'
import { fromUtf8 } from '../util/bytes.ts'
import { decodeJwt, signJwt, verifyJwt } from './jwt.ts'
import type { TokenSigningKeys } from './signing-keys.ts'

/** Kuma backdates `nbf` by five minutes so that a data plane with a late clock is not refused. */
export const NOT_BEFORE_SKEW_MS = 5 * 60_000

export interface SignedTokenContext {
  readonly keys: TokenSigningKeys
  readonly secrets: SecretAccess
  readonly mesh: string
  readonly revocationsSecret: string
  readonly crypto: Crypto
  readonly clock: Clock
}

/** Registered claims as meshca reads them back. */
export interface RegisteredClaims {
  readonly id: string
  readonly issuedAt: Date
  readonly expiresAt: Date
}

export async function issueSignedToken(
  context: SignedTokenContext,
  claims: Readonly<Record<string, unknown>>,
  validForMs: number
): Promise<string> {
  const key = await context.keys.current()
  const now = context.clock.now().getTime()
  return signJwt(context.crypto, key, {
    ...claims,
    jti: context.crypto.randomUUID(),
    iat: Math.floor(now / 1000),
    nbf: Math.floor((now - NOT_BEFORE_SKEW_MS) / 1000),
    exp: Math.floor((now + validForMs) / 1000),
  })
}

/** The verified claims of `token`, or `UNAUTHENTICATED` saying why it is refused. */
export async function verifySignedToken(
  context: SignedTokenContext,
  token: string
): Promise<{ readonly claims: Readonly<Record<string, unknown>> } & RegisteredClaims> {
  const decoded = decodeJwt(token)
  const kid = decoded.header.kid
  if (kid === undefined) throw new MeshcaError('UNAUTHENTICATED', 'token has no key id')
  const key = await context.keys.find(kid)
  if (key === undefined) {
    throw new MeshcaError(
      'UNAUTHENTICATED',
      `there is no signing key with KID ${JSON.stringify(kid)}; the token cannot be verified`
    )
  }
  await verifyJwt(context.crypto, decoded, key, context.clock.now())
  const { jti, iat, exp } = decoded.claims
  if (typeof jti !== 'string' || jti === '') {
    throw new MeshcaError('UNAUTHENTICATED', 'token has no id')
  }
  if ((await revokedIds(context)).has(jti)) {
    throw new MeshcaError('UNAUTHENTICATED', 'token is revoked')
  }
  return {
    claims: decoded.claims,
    id: jti,
    issuedAt: new Date((typeof iat === 'number' ? iat : 0) * 1000),
    expiresAt: new Date((exp as number) * 1000),
  }
}

async function revokedIds(context: SignedTokenContext): Promise<ReadonlySet<string>> {
  const secret = await context.secrets.get(context.mesh, context.revocationsSecret)
  if (secret === undefined) return new Set()
  return new Set(
    fromUtf8(secret.data)
      .split(/[\s,]+/)
      .filter((id) => id !== '')
  )
}
