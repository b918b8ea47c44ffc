/**
 * Typed spec ↔ JSON for every resource type. The JSON is what stores persist and what the Universal
 * form carries next to `type`/`name`/`mesh`: Kuma's protobuf JSON, with defaults left out.
 */

import { dataplaneSpecFromJson, dataplaneSpecToJson } from './dataplane-codec.ts'
import {
  dataplaneInsightSpecFromJson,
  dataplaneInsightSpecToJson,
} from './dataplane-insight-codec.ts'
import { JsonReader } from './json-reader.ts'
import { meshSpecFromJson, meshSpecToJson } from './mesh-codec.ts'
import { meshInsightSpecFromJson, meshInsightSpecToJson } from './mesh-insight-codec.ts'
import type { ResourceSpecs } from './resource.ts'
import { secretSpecFromJson, secretSpecToJson } from './secret-codec.ts'
import {
  trafficPermissionSpecFromJson,
  trafficPermissionSpecToJson,
} from './traffic-permission-codec.ts'
import type { JsonObject, ResourceType } from './types.ts'

interface SpecCodec<T extends ResourceType> {
  fromJson(json: unknown, path: string, reader: JsonReader): ResourceSpecs[T]
  toJson(spec: ResourceSpecs[T]): JsonObject
}

const SPEC_CODECS: { readonly [T in ResourceType]: SpecCodec<T> } = {
  Mesh: { fromJson: meshSpecFromJson, toJson: meshSpecToJson },
  Secret: { fromJson: secretSpecFromJson, toJson: secretSpecToJson },
  Dataplane: { fromJson: dataplaneSpecFromJson, toJson: dataplaneSpecToJson },
  DataplaneInsight: { fromJson: dataplaneInsightSpecFromJson, toJson: dataplaneInsightSpecToJson },
  TrafficPermission: {
    fromJson: trafficPermissionSpecFromJson,
    toJson: trafficPermissionSpecToJson,
  },
  MeshInsight: { fromJson: meshInsightSpecFromJson, toJson: meshInsightSpecToJson },
}

/**
 * The typed spec of `json`. Throws `INVALID` listing every value of the wrong JSON type, with field
 * paths under `path` (`''` for the Universal form, `spec` for Kubernetes).
 */
export function specFromJson<T extends ResourceType>(
  type: T,
  json: unknown,
  path = ''
): ResourceSpecs[T] {
  const reader = new JsonReader()
  const spec = readSpec(type, json, path, reader)
  reader.throwIfAny()
  return spec
}

/** Like `specFromJson`, but leaves the violations in `reader` so that callers can add their own. */
export function readSpec<T extends ResourceType>(
  type: T,
  json: unknown,
  path: string,
  reader: JsonReader
): ResourceSpecs[T] {
  const codec: SpecCodec<T> = SPEC_CODECS[type]
  return codec.fromJson(json, path, reader)
}

export function specToJson<T extends ResourceType>(type: T, spec: ResourceSpecs[T]): JsonObject {
  const codec: SpecCodec<T> = SPEC_CODECS[type]
  return codec.toJson(spec)
}
