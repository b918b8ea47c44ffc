/**
 * Kuma's data plane tokens (docs/kuma-compatibility.md §11): RS256 JWTs with claims `Name`, `Mesh`,
 * `Tags`, `Type`, signed by the Secret `dataplane-token-signing-key-<mesh>-1` of the data plane's
 * mesh, revocable through the Secret `dataplane-token-revocations-<mesh>`, and checked against the
 * Dataplane that presents them with Kuma's messages.
 */
import type { SecretAccess } from '../ca/ca-backend.ts'
import { MeshcaError, validationError } from '../errors.ts'
import type { Clock } from '../ports/runtime.ts'
import { systemClock } from '../ports/runtime.ts'
import { allowedValuesMessage, isRawObject, JsonReader, keyPath } from '../resources/json-reader.ts'
import { parseGoDuration } from './go-duration.ts'
import type { JwtAlgorithm } from './jwt.ts'
import type { RegisteredClaims, SignedTokenContext } from './signed-tokens.ts'
import { issueSignedToken, verifySignedToken } from './signed-tokens.ts'
import { createTokenSigningKeys, type TokenSigningKeys } from './signing-keys.ts'

export const DATAPLANE_TOKEN_TYPES = ['dataplane', 'ingress', 'egress'] as const
export type DataplaneTokenType = (typeof DATAPLANE_TOKEN_TYPES)[number]

/** Kuma's default `validFor` for data plane tokens: ten years. */
export const DEFAULT_DATAPLANE_TOKEN_VALIDITY_MS = 10 * 365 * 24 * 3_600_000

export function dataplaneTokenSigningKeyPrefix(mesh: string): string {
  return `dataplane-token-signing-key-${mesh}`
}

export function dataplaneTokenRevocationsSecret(mesh: string): string {
  return `dataplane-token-revocations-${mesh}`
}

export type DataplaneTokenTags = Readonly<Record<string, readonly string[]>>

export interface DataplaneTokenRequest {
  /** Empty: the token is valid for any data plane name in the mesh. */
  readonly name: string
  readonly mesh: string
  /** Every tag listed here must be on the data plane, with only the listed values. */
  readonly tags: DataplaneTokenTags
  readonly type: DataplaneTokenType
  readonly validForMs: number
}

export interface DataplaneTokenClaims extends RegisteredClaims {
  readonly name: string
  readonly mesh: string
  readonly tags: DataplaneTokenTags
  readonly type: string
}

/** What a connecting data plane claims to be: the token is checked against it. */
export interface DataplaneIdentityClaim {
  readonly name: string
  readonly mesh: string
  /** The data plane's tag set (every value of each key), e.g. from `dataplaneTagSet`. */
  readonly tags: ReadonlyMap<string, readonly string[]>
}

export interface DataplaneTokens {
  issue(request: DataplaneTokenRequest): Promise<string>
  /** The claims of a token signed by `mesh`'s key; `UNAUTHENTICATED` otherwise. */
  verify(token: string, mesh: string): Promise<DataplaneTokenClaims>
}

export interface DataplaneTokensOptions {
  /** The control plane's own Secret access: the signing key is created without the user guard. */
  readonly secrets: SecretAccess
  readonly crypto?: Crypto
  readonly clock?: Clock
  readonly algorithm?: JwtAlgorithm
}

/**
 * Reads `POST /tokens/dataplane`'s body (`{name, mesh, tags, type, validFor}`), with Kuma's
 * messages;
 * `validFor` is a Go duration, ten years when absent.
 */
export function parseDataplaneTokenRequest(json: unknown): DataplaneTokenRequest {
  if (!isRawObject(json)) throw validationError([{ field: '', message: 'must be an object' }])
  const reader = new JsonReader()
  const name = reader.string(json.name, 'name') ?? ''
  const mesh = reader.string(json.mesh, 'mesh') ?? ''
  if (mesh === '' && !reader.violations.violations.some((v) => v.field === 'mesh')) {
    reader.fail('mesh', 'cannot be empty')
  }
  const tags = readTags(json.tags, reader)
  const typeText = reader.nonEmptyString(json.type, 'type') ?? 'dataplane'
  const type = DATAPLANE_TOKEN_TYPES.find((t) => t === typeText)
  if (type === undefined) reader.fail('type', allowedValuesMessage(DATAPLANE_TOKEN_TYPES))
  const validForMs = readValidFor(json.validFor, reader) ?? DEFAULT_DATAPLANE_TOKEN_VALIDITY_MS
  reader.throwIfAny()
  return { name, mesh, tags, type: type ?? 'dataplane', validForMs }
}

function readTags(value: unknown, reader: JsonReader): DataplaneTokenTags {
  const obj = reader.object(value, 'tags')
  if (obj === undefined) return {}
  const tags: Record<string, readonly string[]> = {}
  for (const [key, values] of Object.entries(obj)) {
    const list = reader.stringArray(values, keyPath('tags', key))
    if (list !== undefined) tags[key] = list
  }
  return tags
}

/** A positive Go duration in milliseconds, `undefined` when absent (or wrong, with a violation). */
export function readValidFor(value: unknown, reader: JsonReader): number | undefined {
  const text = reader.nonEmptyString(value, 'validFor')
  if (text === undefined) return undefined
  let ms: number
  try {
    ms = parseGoDuration(text)
  } catch (error) {
    reader.fail('validFor', (error as Error).message)
    return undefined
  }
  if (ms <= 0) {
    reader.fail('validFor', 'has to be a positive duration')
    return undefined
  }
  return ms
}

export function createDataplaneTokens(options: DataplaneTokensOptions): DataplaneTokens {
  const crypto = options.crypto ?? globalThis.crypto
  const clock = options.clock ?? systemClock
  const keysByMesh = new Map<string, TokenSigningKeys>()

  function context(mesh: string): SignedTokenContext {
    let keys = keysByMesh.get(mesh)
    if (keys === undefined) {
      keys = createTokenSigningKeys({
        secrets: options.secrets,
        mesh,
        namePrefix: dataplaneTokenSigningKeyPrefix(mesh),
        crypto,
        ...(options.algorithm === undefined ? {} : { algorithm: options.algorithm }),
      })
      keysByMesh.set(mesh, keys)
    }
    return {
      keys,
      secrets: options.secrets,
      mesh,
      revocationsSecret: dataplaneTokenRevocationsSecret(mesh),
      crypto,
      clock,
    }
  }

  return {
    issue(request) {
      if (request.mesh === '') {
        return Promise.reject(validationError([{ field: 'mesh', message: 'cannot be empty' }]))
      }
      // Kuma's claim names: Go field names without JSON tags.
      const claims = {
        Name: request.name,
        Mesh: request.mesh,
        Tags: request.tags,
        Type: request.type,
      }
      return issueSignedToken(context(request.mesh), claims, request.validForMs)
    },
    async verify(token, mesh) {
      if (mesh === '') throw new MeshcaError('UNAUTHENTICATED', 'the data plane names no mesh')
      const verified = await verifySignedToken(context(mesh), token)
      const { Name, Mesh, Tags, Type } = verified.claims
      return {
        id: verified.id,
        issuedAt: verified.issuedAt,
        expiresAt: verified.expiresAt,
        name: typeof Name === 'string' ? Name : '',
        mesh: typeof Mesh === 'string' ? Mesh : '',
        tags: claimTags(Tags),
        type: typeof Type === 'string' ? Type : '',
      }
    },
  }
}

function claimTags(value: unknown): DataplaneTokenTags {
  if (!isRawObject(value)) return {}
  const tags: Record<string, readonly string[]> = {}
  for (const [key, values] of Object.entries(value)) {
    if (Array.isArray(values)) tags[key] = values.filter((v) => typeof v === 'string')
  }
  return tags
}

/**
 * Kuma's checks of a verified token against the data plane presenting it
 * (docs/kuma-compatibility.md §11): its name and mesh, when the token names them, and every tag of
 * the token with only the values it allows.
 */
export function checkDataplaneToken(
  claims: Pick<DataplaneTokenClaims, 'name' | 'mesh' | 'tags'>,
  proxy: DataplaneIdentityClaim
): void {
  const refuse = (message: string) => new MeshcaError('UNAUTHENTICATED', message)
  if (claims.name !== '' && claims.name !== proxy.name) {
    throw refuse(
      `proxy name from requestor: ${proxy.name} is different than in token: ${claims.name}`
    )
  }
  if (claims.mesh !== '' && claims.mesh !== proxy.mesh) {
    throw refuse(
      `proxy mesh from requestor: ${proxy.mesh} is different than in token: ${claims.mesh}`
    )
  }
  for (const key of Object.keys(claims.tags).sort()) {
    const allowed = claims.tags[key] ?? []
    const values = proxy.tags.get(key)
    if (values === undefined) {
      throw refuse(`dataplane has no tag ${goQuote(key)} required by the token`)
    }
    for (const value of values) {
      if (!allowed.includes(value)) {
        throw refuse(
          `dataplane contains tag ${goQuote(key)} with value ${goQuote(value)} which is not allowed with this token. Allowed values in token are ${goQuoteList(allowed)}`
        )
      }
    }
  }
}

function goQuote(text: string): string {
  return JSON.stringify(text)
}

/** Go's `%q` of a `[]string`: `["a" "b"]`. */
function goQuoteList(values: readonly string[]): string {
  return `[${values.map(goQuote).join(' ')}]`
}
