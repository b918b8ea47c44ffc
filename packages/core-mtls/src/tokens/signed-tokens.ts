/**
 * What data plane tokens and user tokens share: registered claims (`jti`, `iat`, `nbf`, `exp`), a
 * signing key kept as a Secret, and a revocation list kept as a Secret of the same location
 * (Kuma: comma-separated token ids).
 */
import type { SecretAccess } from '../ca/ca-backend.ts'
import { isMeshcaError, MeshcaError, validationError } from '../errors.ts'
import type { Clock } from '../ports/runtime.ts'
import { fromUtf8, utf8 } from '../util/bytes.ts'
import { decodeJwt, signJwt, verifyJwt } from './jwt.ts'
import type { TokenSigningKeys } from './signing-keys.ts'

/** What a revocation list holds: token ids (UUIDs), nothing that could confuse its parser. */
export const TOKEN_ID = /^[A-Za-z0-9._-]{1,128}$/
/** Far more revocations than tokens a location should have outstanding; rotate its key instead. */
export const MAX_REVOKED_TOKENS = 10_000

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

/** The ids a revocation list holds (Kuma: comma-separated), in the order written. */
export function parseRevocationList(data: Uint8Array): string[] {
  return fromUtf8(data)
    .split(/[\s,]+/)
    .filter((id) => id !== '')
}

async function revokedIds(context: SignedTokenContext): Promise<ReadonlySet<string>> {
  const secret = await context.secrets.get(context.mesh, context.revocationsSecret)
  return new Set(secret === undefined ? [] : parseRevocationList(secret.data))
}

/** The revoked token ids of the context's location. */
export async function revokedTokenIds(context: SignedTokenContext): Promise<string[]> {
  return [...(await revokedIds(context))]
}

const MAX_REVOCATION_ATTEMPTS = 25

/**
 * Adds `id` to the revocation list, read and written back with its version so that revocations
 * made at once by several instances all stay. Every instance reads the list on each verification.
 */
export async function revokeTokenId(context: SignedTokenContext, id: string): Promise<void> {
  if (!TOKEN_ID.test(id)) {
    throw validationError([
      { field: 'id', message: "must be a token id (letters, digits, '.', '_', '-'; at most 128)" },
    ])
  }
  for (let attempt = 0; attempt < MAX_REVOCATION_ATTEMPTS; attempt++) {
    // Writers that lost a race spread out before reading again, so that each round one of them wins.
    if (attempt > 0)
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt))
    const stored = await context.secrets.get(context.mesh, context.revocationsSecret)
    const ids = stored === undefined ? [] : parseRevocationList(stored.data)
    if (ids.includes(id)) return
    if (ids.length >= MAX_REVOKED_TOKENS) {
      throw validationError([
        {
          field: 'id',
          message: `at most ${MAX_REVOKED_TOKENS} tokens can be revoked; rotate the signing key instead`,
        },
      ])
    }
    const data = utf8([...ids, id].join(','))
    try {
      if (stored === undefined)
        await context.secrets.create(context.mesh, context.revocationsSecret, data)
      else
        await context.secrets.update(context.mesh, context.revocationsSecret, data, stored.version)
      return
    } catch (error) {
      if (!isMeshcaError(error, 'ALREADY_EXISTS') && !isMeshcaError(error, 'CONFLICT')) throw error
    }
  }
  throw new MeshcaError(
    'CONFLICT',
    'the revocation list kept changing under this revocation; try again'
  )
}
