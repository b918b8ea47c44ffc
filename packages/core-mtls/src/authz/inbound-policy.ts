/**
 * The RBAC policy of one inbound, as the control plane hands it to a data plane: the name of the
 * TrafficPermission that governs the inbound and, per source selector, the URI SANs a client must
 * present (Kuma's principals). Evaluated by the data plane on every mTLS connection.
 */
import type { Tags } from '../resources/dataplane.ts'
import {
  selectTrafficPermission,
  sourcePrincipals,
  type TrafficPermission,
} from './traffic-permission.ts'

export interface InboundPolicy {
  /** The TrafficPermission that governs the inbound. */
  readonly permission: string
  /**
   * One entry per source selector (ORed); each lists URI SANs a client must all present (ANDed).
   * An empty entry admits any client of the mesh.
   */
  readonly principals: readonly (readonly string[])[]
}

/** The policy of an inbound with `tags`, or `null` when no permission matches (deny all). */
export function inboundPolicy(
  mesh: string,
  permissions: readonly TrafficPermission[],
  tags: Tags
): InboundPolicy | null {
  const permission = selectTrafficPermission(
    permissions.filter((p) => p.mesh === mesh),
    tags
  )
  if (permission === undefined) return null
  return {
    permission: permission.name,
    principals: permission.spec.sources.map((source) => sourcePrincipals(mesh, source)),
  }
}

/** Whether a client with URI SANs `uris` may connect under `policy`; `null` denies. */
export function policyAllows(policy: InboundPolicy | null, uris: ReadonlySet<string>): boolean {
  if (policy === null) return false
  return policy.principals.some((required) => required.every((uri) => uris.has(uri)))
}

export interface ConnectionCheck {
  readonly mesh: string
  /** The mesh's TrafficPermissions; those of other meshes are ignored. */
  readonly permissions: readonly TrafficPermission[]
  /** Tags of the destination inbound. */
  readonly destinationTags: Tags
  /** URI SANs of the client certificate presented on the mTLS connection. */
  readonly clientUris: readonly string[]
}

/**
 * Whether an mTLS connection from a client with `clientUris` to an inbound with `destinationTags`
 * is allowed. No matching permission denies everything, as Kuma's empty RBAC policy does.
 */
export function isConnectionAllowed(check: ConnectionCheck): boolean {
  const policy = inboundPolicy(check.mesh, check.permissions, check.destinationTags)
  return policyAllows(policy, new Set(check.clientUris))
}
