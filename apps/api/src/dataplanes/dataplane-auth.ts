/**
 * Who may use the data plane API (docs/kuma-compatibility.md §11): a data plane token signed by the
 * key of the mesh in the URL, checked against the Dataplane it asks for with Kuma's messages. A
 * token that does not verify is a 401; a valid token used for another data plane (another name,
 * tags it does not allow) is a 403, with Kuma's reason.
 */
import {
  checkDataplaneToken,
  type DataplaneSpec,
  type DataplaneTokenClaims,
  type DataplaneTokens,
  dataplaneTagSet,
  isMeshcaError,
  type Logger,
  type MeshcaCore,
  MeshcaError,
} from '@meshca/core-mtls'

export type TokenClaims = Pick<DataplaneTokenClaims, 'name' | 'mesh' | 'tags' | 'type'>

const BEARER = /^Bearer\s+(\S+)\s*$/i

function unauthenticated(message: string): MeshcaError {
  return new MeshcaError('UNAUTHENTICATED', message)
}

/** The verified claims of the request's data plane token for `mesh`. */
export async function verifyDataplaneToken(
  authorization: string | undefined,
  mesh: string,
  deps: { readonly core: MeshcaCore; readonly dataplaneTokens: DataplaneTokens; logger: Logger }
): Promise<TokenClaims> {
  if (authorization === undefined) {
    throw unauthenticated('the data plane API needs "Authorization: Bearer <data plane token>"')
  }
  const token = BEARER.exec(authorization)?.[1]
  if (token === undefined) throw unauthenticated('the Authorization header is not a Bearer token')
  // No mesh, no signing key; checked first so that unknown mesh names never reach the token cache.
  if ((await deps.core.meshes.get(mesh)) === undefined) {
    throw unauthenticated(`mesh "${mesh}" does not exist`)
  }
  let claims: DataplaneTokenClaims
  try {
    claims = await deps.dataplaneTokens.verify(token, mesh)
  } catch (error) {
    if (isMeshcaError(error, 'UNAUTHENTICATED')) {
      deps.logger.log('info', 'data plane token refused', { mesh, reason: error.message })
    }
    throw error
  }
  if (claims.type !== '' && claims.type !== 'dataplane') {
    throw new MeshcaError(
      'FORBIDDEN',
      `a token of type "${claims.type}" cannot be used by a data plane proxy`
    )
  }
  return claims
}

/** Kuma's checks of the token against the Dataplane (name, mesh, tags); 403 with its message. */
export function checkTokenAllows(
  claims: TokenClaims,
  mesh: string,
  name: string,
  dataplane: DataplaneSpec
): void {
  try {
    checkDataplaneToken(claims, { name, mesh, tags: dataplaneTagSet(dataplane) })
  } catch (error) {
    if (isMeshcaError(error, 'UNAUTHENTICATED')) {
      throw new MeshcaError('FORBIDDEN', error.message, { cause: error })
    }
    throw error
  }
}

/** The identity-relevant part of a Dataplane: its tag set (the certificate's SANs come from it). */
export function tagsKey(dataplane: DataplaneSpec): string {
  return JSON.stringify([...dataplaneTagSet(dataplane)])
}

export function notRegistered(mesh: string, name: string): MeshcaError {
  return new MeshcaError('NOT_FOUND', `Resource not found: type="Dataplane" name="${name}"`, {
    violations: [
      {
        field: 'name',
        message: `data plane "${name}" is not registered in mesh "${mesh}": register it first, or send it as "dataplane" to POST /meshes/${mesh}/dataplanes/${name}/identity`,
      },
    ],
  })
}

/** A token naming another data plane is refused before anything about this one is revealed. */
export function checkTokenName(claims: TokenClaims, mesh: string, name: string): void {
  try {
    checkDataplaneToken(
      { name: claims.name, mesh: claims.mesh, tags: {} },
      {
        name,
        mesh,
        tags: new Map(),
      }
    )
  } catch (error) {
    if (isMeshcaError(error, 'UNAUTHENTICATED')) throw new MeshcaError('FORBIDDEN', error.message)
    throw error
  }
}
