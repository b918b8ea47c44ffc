/** TrafficPermission spec ↔ JSON. Unknown members of a selector are dropped, as protobuf JSON does. */
import { indexPath, joinPath } from '../validation.ts'
import type { JsonReader } from './json-reader.ts'
import type { Selector, TrafficPermissionSpec } from './traffic-permission.ts'
import type { JsonObject } from './types.ts'

export function trafficPermissionSpecFromJson(
  json: unknown,
  path: string,
  reader: JsonReader
): TrafficPermissionSpec {
  const obj = reader.object(json, path) ?? {}
  return {
    sources: selectorsFromJson(obj.sources, joinPath(path, 'sources'), reader),
    destinations: selectorsFromJson(obj.destinations, joinPath(path, 'destinations'), reader),
    other: reader.rest(obj, ['sources', 'destinations'], path),
  }
}

function selectorsFromJson(value: unknown, path: string, reader: JsonReader): Selector[] {
  const items = reader.array(value, path) ?? []
  return items.map((item, i) => {
    const at = indexPath(path, i)
    const obj = reader.object(item, at) ?? {}
    return { match: reader.stringMap(obj.match, joinPath(at, 'match')) ?? {} }
  })
}

export function trafficPermissionSpecToJson(spec: TrafficPermissionSpec): JsonObject {
  return {
    sources: selectorsToJson(spec.sources),
    destinations: selectorsToJson(spec.destinations),
    ...spec.other,
  }
}

function selectorsToJson(selectors: readonly Selector[]): JsonObject[] {
  return selectors.map((s) => ({ match: { ...s.match } }))
}
