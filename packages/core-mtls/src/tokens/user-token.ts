/**
 * User tokens for the admin API (Kuma's `Name`/`Groups` JWTs): signed by a key kept as a Secret in a
 * location the control plane chooses (Kuma: the global secret `user-token-signing-key-1`), revocable
 * through the Secret `user-token-revocations` of the same location.
 */
import type { SecretAccess } from '../ca/ca-backend.ts'
import { MeshcaError, validationError } from '../errors.ts'
import type { Clock } from '../ports/runtime.ts'
import { systemClock } from '../ports/runtime.ts'
import { isRawObject, JsonReader } from '../resources/json-reader.ts'
import { readValidFor } from './dataplane-token.ts'
import { decodeJwt, type JwtAlgorithm } from './jwt.ts'
import type { RegisteredClaims, SignedTokenContext } from './signed-tokens.ts'
import {
  issueSignedToken,
  revokedTokenIds,
  revokeTokenId,
  verifySignedToken,
} from './signed-tokens.ts'
import { createTokenSigningKeys } from './signing-keys.ts'

export const USER_TOKEN_SIGNING_KEY_PREFIX = 'user-token-signing-key'

/** Kuma's admin: the user `mesh-system:admin`, and members of the group of the same name. */
export const ADMIN_USER_NAME = 'mesh-system:admin'
export const ADMIN_GROUP = 'mesh-system:admin'

/**
 * The bootstrap admin token a control plane writes in its data directory (mode 0600), and how long
 * it is valid; the CLI rotates it in place.
 */
export const BOOTSTRAP_ADMIN_TOKEN_FILE = 'admin-token'
export const BOOTSTRAP_ADMIN_TOKEN_VALIDITY_MS = 365 * 24 * 3_600_000
export const USER_TOKEN_REVOCATIONS_SECRET = 'user-token-revocations'

export interface UserIdentity {
  readonly name: string
  readonly groups: readonly string[]
}

export interface UserTokenRequest extends UserIdentity {
  readonly validForMs: number
}

export interface UserTokenClaims extends UserIdentity, RegisteredClaims {}

export interface UserTokens {
  issue(request: UserTokenRequest): Promise<string>
  verify(token: string): Promise<UserTokenClaims>
  /** Revokes a token by its id; every instance sharing the store refuses it from its next read. */
  revoke(id: string): Promise<void>
  /** The ids revoked so far. */
  revoked(): Promise<readonly string[]>
}

/** What `POST /tokens/user/revocations` names: a token (its id is read, not verified), or an id. */
export function parseUserTokenRevocation(json: unknown): string {
  if (!isRawObject(json)) throw validationError([{ field: '', message: 'must be an object' }])
  const reader = new JsonReader()
  const token = reader.string(json.token, 'token')
  const id = reader.string(json.id, 'id')
  reader.throwIfAny()
  if ((token === undefined) === (id === undefined)) {
    throw validationError([{ field: '', message: 'give either "token" or "id"' }])
  }
  if (id !== undefined) return id
  // An expired token, or one signed by a key since rotated, can still be revoked: no verification.
  let jti: unknown
  try {
    jti = decodeJwt(token ?? '').claims.jti
  } catch (error) {
    throw validationError([{ field: 'token', message: (error as Error).message }])
  }
  if (typeof jti !== 'string' || jti === '') {
    throw validationError([{ field: 'token', message: 'the token has no id (jti)' }])
  }
  return jti
}

export interface UserTokensOptions {
  readonly secrets: SecretAccess
  /** The mesh (in the Secret key) where the signing key and revocations live. */
  readonly mesh: string
  readonly crypto?: Crypto
  readonly clock?: Clock
  readonly algorithm?: JwtAlgorithm
}

/** Reads `POST /tokens/user`'s body (`{name, groups, validFor}`); `validFor` is a required Go duration. */
export function parseUserTokenRequest(json: unknown): UserTokenRequest {
  if (!isRawObject(json)) throw validationError([{ field: '', message: 'must be an object' }])
  const reader = new JsonReader()
  const name = reader.string(json.name, 'name')
  if (name === '' || (name === undefined && json.name == null))
    reader.fail('name', 'cannot be empty')
  const groups = reader.stringArray(json.groups, 'groups') ?? []
  const validForMs = readValidFor(json.validFor, reader)
  if (validForMs === undefined && (json.validFor == null || json.validFor === '')) {
    reader.fail('validFor', 'cannot be empty')
  }
  reader.throwIfAny()
  return { name: name ?? '', groups, validForMs: validForMs ?? 0 }
}

export function createUserTokens(options: UserTokensOptions): UserTokens {
  const crypto = options.crypto ?? globalThis.crypto
  const context: SignedTokenContext = {
    keys: createTokenSigningKeys({
      secrets: options.secrets,
      mesh: options.mesh,
      namePrefix: USER_TOKEN_SIGNING_KEY_PREFIX,
      crypto,
      ...(options.algorithm === undefined ? {} : { algorithm: options.algorithm }),
    }),
    secrets: options.secrets,
    mesh: options.mesh,
    revocationsSecret: USER_TOKEN_REVOCATIONS_SECRET,
    crypto,
    clock: options.clock ?? systemClock,
  }
  return {
    issue(request) {
      if (request.name === '') {
        return Promise.reject(validationError([{ field: 'name', message: 'cannot be empty' }]))
      }
      return issueSignedToken(
        context,
        { Name: request.name, Groups: [...request.groups] },
        request.validForMs
      )
    },
    async verify(token) {
      const verified = await verifySignedToken(context, token)
      const { Name, Groups } = verified.claims
      if (typeof Name !== 'string' || Name === '') {
        throw new MeshcaError('UNAUTHENTICATED', 'token names no user')
      }
      const groups = Array.isArray(Groups) ? Groups.filter((g) => typeof g === 'string') : []
      return {
        name: Name,
        groups,
        id: verified.id,
        issuedAt: verified.issuedAt,
        expiresAt: verified.expiresAt,
      }
    },
    revoke: (id) => revokeTokenId(context, id),
    revoked: () => revokedTokenIds(context),
  }
}
