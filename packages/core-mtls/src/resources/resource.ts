import type { DataplaneSpec } from './dataplane.ts'
import type { DataplaneInsightSpec } from './dataplane-insight.ts'
import type { MeshSpec } from './mesh.ts'
import type { MeshInsightSpec } from './mesh-insight.ts'
import type { SecretSpec } from './secret.ts'
import type { TrafficPermissionSpec } from './traffic-permission.ts'
import type { ResourceType } from './types.ts'

export interface ResourceSpecs {
  Mesh: MeshSpec
  Secret: SecretSpec
  Dataplane: DataplaneSpec
  DataplaneInsight: DataplaneInsightSpec
  TrafficPermission: TrafficPermissionSpec
  MeshInsight: MeshInsightSpec
}

/** Store metadata, present on resources read back from a store. */
export interface StoreMeta {
  readonly version: string
  readonly creationTime: Date
  readonly modificationTime: Date
}

/** A typed resource. `mesh` is `''` for global types (Mesh, MeshInsight). */
export interface Resource<T extends ResourceType = ResourceType> {
  readonly type: T
  readonly name: string
  readonly mesh: string
  readonly spec: ResourceSpecs[T]
  readonly meta?: StoreMeta
}

export type AnyResource = { [T in ResourceType]: Resource<T> }[ResourceType]
