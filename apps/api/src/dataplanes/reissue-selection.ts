/**
 * Which sessions a store change re-issues, and why. The store reads (the Mesh as now stored, whether
 * a changed Secret is a CA's) are done by the caller; what follows from them is decided here, without
 * timers or I/O, so that every rule has a unit test.
 */
import {
  type DataplaneSpec,
  isMeshcaError,
  type MeshcaError,
  type StoreEvent,
} from '@meshca/core-mtls'
import { checkTokenAllows, type TokenClaims, tagsKey } from './dataplane-auth.ts'

export const MESH_MTLS_CHANGED = 'Mesh mTLS settings have changed'
export const CA_SECRET_CHANGED = 'a CA Secret of the mesh has changed'
export const TAGS_CHANGED = 'DP tags have changed'

/** What a store event means to the sessions: a mesh's settings, or one data plane's Dataplane. */
export type SessionStoreChange =
  | { readonly kind: 'mesh'; readonly mesh: string; readonly secret?: string }
  | { readonly kind: 'dataplane'; readonly mesh: string; readonly name: string }

/** The sessions this instance holds, as far as routing a store event needs to know. */
export interface OpenSessionIndex {
  hasMesh(mesh: string): boolean
  hasDataplane(mesh: string, name: string): boolean
}

/**
 * A Mesh event always counts (the mesh epoch moves even for a mesh without sessions yet, so that one
 * being opened notices); a Secret or a Dataplane only when a session here depends on it.
 */
export function storeChangeOf(
  event: StoreEvent,
  open: OpenSessionIndex
): SessionStoreChange | undefined {
  const { type, mesh, name } = event.key
  if (type === 'Mesh') return { kind: 'mesh', mesh: name }
  if (type === 'Secret')
    return open.hasMesh(mesh) ? { kind: 'mesh', mesh, secret: name } : undefined
  if (type === 'Dataplane' && open.hasDataplane(mesh, name)) {
    return { kind: 'dataplane', mesh, name }
  }
  return undefined
}

export interface MeshChangeFacts {
  readonly mesh: string
  /** `mtlsKey` of the Mesh as now stored. */
  readonly mtlsKey: string
  /** `mtlsKey` of the Mesh the watch saw last; `undefined` if none. */
  readonly lastSeenMtlsKey: string | undefined
  /** Whether one of the changed Secrets is used by a CA backend of the mesh. */
  readonly caSecretChanged: boolean
}

export interface MeshReissue<S> {
  readonly targets: readonly S[]
  /** Whether the mesh epoch moves: an issuance running across the change must run again. */
  readonly advanceEpoch: boolean
  readonly reason: string
}

/**
 * A CA Secret change re-issues every session of the mesh; otherwise only the sessions whose identity
 * was issued under other mTLS settings.
 */
export function selectMeshReissues<S extends { readonly mesh: string; readonly mtlsKey: string }>(
  sessions: Iterable<S>,
  facts: MeshChangeFacts
): MeshReissue<S> {
  const targets: S[] = []
  for (const session of sessions) {
    if (session.mesh !== facts.mesh) continue
    if (facts.caSecretChanged || session.mtlsKey !== facts.mtlsKey) targets.push(session)
  }
  return {
    targets,
    advanceEpoch:
      facts.caSecretChanged || facts.lastSeenMtlsKey !== facts.mtlsKey || targets.length > 0,
    reason: facts.caSecretChanged ? CA_SECRET_CHANGED : MESH_MTLS_CHANGED,
  }
}

export type DataplaneChangeOutcome =
  /** The token no longer allows the data plane; `error` says why (absent for a non-Meshca error). */
  | { readonly end: true; readonly error: MeshcaError | undefined }
  /** The session goes on with the stored Dataplane; `reissue` when its tags (the SANs) changed. */
  | { readonly end: false; readonly reissue: boolean }

/** What a stored Dataplane's new spec means to one session of that data plane. */
export function dataplaneChangeOutcome(
  session: { readonly claims: TokenClaims; readonly dataplane: DataplaneSpec },
  mesh: string,
  name: string,
  stored: DataplaneSpec
): DataplaneChangeOutcome {
  try {
    checkTokenAllows(session.claims, mesh, name, stored)
  } catch (error) {
    return { end: true, error: isMeshcaError(error) ? error : undefined }
  }
  return { end: false, reissue: tagsKey(session.dataplane) !== tagsKey(stored) }
}
