/**
 * TrafficPermission enforcement as Kuma 2.2 does it for an mTLS inbound: one permission per inbound,
 * the most specific one by its destination selectors (`SelectInboundConnectionPolicy` in
 * `pkg/core/policy/connection_matcher.go`); its source selectors become RBAC principals matched
 * against the client certificate's URI SANs (`network_rbac_configurer.go`). Only meaningful while the
 * mesh has mTLS on: without it Kuma installs no RBAC filter and TrafficPermissions have no effect.
 */
import { SERVICE_TAG, type Tags } from '../resources/dataplane.ts'
import type { Resource } from '../resources/resource.ts'
import type { Selector } from '../resources/traffic-permission.ts'

export type TrafficPermission = Resource<'TrafficPermission'>

const MATCH_ALL = '*'

/** What a new mesh gets (`allow-all-<mesh>`): every service may call every service. */
export function defaultTrafficPermission(mesh: string): TrafficPermission {
  const anyService: Selector = { match: { [SERVICE_TAG]: MATCH_ALL } }
  return {
    type: 'TrafficPermission',
    name: `allow-all-${mesh}`,
    mesh,
    spec: { sources: [anyService], destinations: [anyService], other: {} },
  }
}

/** How specific a selector is (Kuma's `TagSelectorRank`). */
export interface SelectorRank {
  /** Tags matched by an exact value. */
  readonly exact: number
  /** Tags matched by `*`. */
  readonly wildcard: number
}

export function selectorRank(match: Readonly<Record<string, string>>): SelectorRank {
  let exact = 0
  let wildcard = 0
  for (const value of Object.values(match)) {
    if (value === MATCH_ALL) wildcard++
    else exact++
  }
  return { exact, wildcard }
}

/**
 * Kuma's `CompareTo`: more matched tags wins whatever their kind, and only between selectors with as
 * many tags does the number of exact values decide. So `{service: '*', version: '*'}` outranks
 * `{service: web}`.
 */
export function compareSelectorRanks(a: SelectorRank, b: SelectorRank): number {
  const totalA = a.exact + a.wildcard
  const totalB = b.exact + b.wildcard
  return totalA === totalB ? a.exact - b.exact : totalA - totalB
}

/** Every selector tag is present with the same value, or with any value for `*`. */
export function selectorMatches(
  match: Readonly<Record<string, string>>,
  tags: Readonly<Record<string, string>>
): boolean {
  return Object.entries(match).every(
    ([key, value]) => Object.hasOwn(tags, key) && (value === MATCH_ALL || tags[key] === value)
  )
}

/**
 * The single permission that governs an inbound with `destinationTags`, or `undefined` when none
 * matches. Ties go to the permission created last; permissions created at the same time (or with no
 * store metadata) are taken in name order and the first one wins, as Kuma does after sorting by name.
 */
export function selectTrafficPermission(
  permissions: readonly TrafficPermission[],
  destinationTags: Tags
): TrafficPermission | undefined {
  const byName = [...permissions].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  let best: { permission: TrafficPermission; rank: SelectorRank } | undefined
  for (const permission of byName) {
    for (const destination of permission.spec.destinations) {
      if (!selectorMatches(destination.match, destinationTags)) continue
      const rank = selectorRank(destination.match)
      const comparison = best === undefined ? 1 : compareSelectorRanks(rank, best.rank)
      if (
        comparison > 0 ||
        (comparison === 0 &&
          best !== undefined &&
          createdAt(permission) > createdAt(best.permission))
      ) {
        best = { permission, rank }
      }
    }
  }
  return best?.permission
}

function createdAt(permission: TrafficPermission): number {
  return permission.meta?.creationTime.getTime() ?? Number.NEGATIVE_INFINITY
}

/**
 * The URI SANs a source selector requires of a client certificate, all of them (`and_ids`): the
 * service as `spiffe://<mesh>/<service>`, any other tag as `kuma://<tag>/<value>`. Wildcards require
 * nothing, so an empty list means any authenticated client.
 */
export function sourcePrincipals(mesh: string, source: Selector): string[] {
  const principals: string[] = []
  for (const [key, value] of Object.entries(source.match)) {
    if (value === MATCH_ALL) continue
    principals.push(key === SERVICE_TAG ? `spiffe://${mesh}/${value}` : `kuma://${key}/${value}`)
  }
  return principals
}
