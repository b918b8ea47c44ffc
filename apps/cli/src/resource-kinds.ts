import type { ResourceType } from '@meshca/core-mtls'
import { RESOURCE_TYPES } from '@meshca/core-mtls'

/** The names a user types (`meshes`, `secret`, `traffic-permissions`, …) for each type. */
const ALIASES: Readonly<Record<string, ResourceType>> = {
  mesh: 'Mesh',
  meshes: 'Mesh',
  secret: 'Secret',
  secrets: 'Secret',
  dataplane: 'Dataplane',
  dataplanes: 'Dataplane',
  'traffic-permission': 'TrafficPermission',
  'traffic-permissions': 'TrafficPermission',
  'dataplane-insight': 'DataplaneInsight',
  'dataplane-insights': 'DataplaneInsight',
}

export const KIND_NAMES = Object.keys(ALIASES).filter((k) => k.endsWith('s'))

export function resourceTypeOf(name: string): ResourceType | undefined {
  return ALIASES[name]
}

/** The REST path of one resource or of a list (docs/kuma-compatibility.md §9.1). */
export function resourcePath(type: ResourceType, mesh: string, name?: string): string {
  const descriptor = RESOURCE_TYPES[type]
  const base =
    descriptor.scope === 'global'
      ? `/${descriptor.path}`
      : `/meshes/${encodeURIComponent(mesh)}/${descriptor.path}`
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`
}
