/** The resource types meshca knows, with their names in each form (Universal, Kubernetes, REST). */

export const RESOURCE_TYPES = {
  Mesh: { scope: 'global', kind: 'Mesh', path: 'meshes', readOnly: false },
  Secret: { scope: 'mesh', kind: 'Secret', path: 'secrets', readOnly: false },
  Dataplane: { scope: 'mesh', kind: 'Dataplane', path: 'dataplanes', readOnly: false },
  DataplaneInsight: {
    scope: 'mesh',
    kind: 'DataplaneInsight',
    path: 'dataplane-insights',
    readOnly: true,
  },
  TrafficPermission: {
    scope: 'mesh',
    kind: 'TrafficPermission',
    path: 'traffic-permissions',
    readOnly: false,
  },
  MeshInsight: { scope: 'global', kind: 'MeshInsight', path: 'mesh-insights', readOnly: true },
} as const

export type ResourceType = keyof typeof RESOURCE_TYPES

export function isResourceType(value: unknown): value is ResourceType {
  return typeof value === 'string' && Object.hasOwn(RESOURCE_TYPES, value)
}

export function isMeshScoped(type: ResourceType): boolean {
  return RESOURCE_TYPES[type].scope === 'mesh'
}

/** JSON as it is stored: what a store adapter persists without knowing the type. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue }

export type JsonObject = { readonly [key: string]: JsonValue }

export interface ResourceKey {
  readonly type: ResourceType
  /** The owning mesh; `''` for global resources such as Mesh. */
  readonly mesh: string
  readonly name: string
}

/**
 * One string per key, for maps and caches keyed by resource: unambiguous whatever the names hold
 * (a store may accept any character in them), because the mesh's length says where the name
 * starts; the type is one of the fixed `ResourceType` names, none with a colon. Every read of a
 * hot resource computes it more than once: a concatenation costs a fraction of encoding an array.
 */
export function resourceKeyId(key: ResourceKey): string {
  return `${key.type}:${key.mesh.length}:${key.mesh}:${key.name}`
}

export interface ResourceMeta {
  readonly name: string
  readonly mesh: string
  readonly version: string
  readonly creationTime: Date
  readonly modificationTime: Date
}
