/** MeshInsight spec ↔ JSON: data plane counts and per-backend mTLS counts typed, the rest kept. */
import { joinPath } from '../validation.ts'
import { fromEntries, type JsonReader, keyPath, type RawObject } from './json-reader.ts'
import type { DataplaneStat, MeshInsightSpec } from './mesh-insight.ts'
import type { JsonObject, JsonValue } from './types.ts'

type StatMap = Readonly<Record<string, DataplaneStat>>

export function meshInsightSpecFromJson(
  json: unknown,
  path: string,
  reader: JsonReader
): MeshInsightSpec {
  const obj = reader.object(json, path) ?? {}
  const dataplanes = reader.object(obj.dataplanes, joinPath(path, 'dataplanes'))
  const mtlsPath = joinPath(path, 'mTLS')
  const mtls = reader.object(obj.mTLS, mtlsPath)
  return {
    ...(dataplanes === undefined
      ? {}
      : { dataplanes: statFromJson(dataplanes, joinPath(path, 'dataplanes'), reader) }),
    ...(mtls === undefined
      ? {}
      : {
          mTLS: {
            issuedBackends: statMapFromJson(
              mtls.issuedBackends,
              joinPath(mtlsPath, 'issuedBackends'),
              reader
            ),
            supportedBackends: statMapFromJson(
              mtls.supportedBackends,
              joinPath(mtlsPath, 'supportedBackends'),
              reader
            ),
          },
        }),
    other: reader.rest(obj, ['dataplanes', 'mTLS'], path),
  }
}

/** uint32 counters: proto3 leaves zeros out of JSON, so a missing count is 0. */
function statFromJson(obj: RawObject, path: string, reader: JsonReader): DataplaneStat {
  const count = (field: keyof DataplaneStat) =>
    reader.integer(obj[field], joinPath(path, field)) ?? 0
  return {
    total: count('total'),
    online: count('online'),
    offline: count('offline'),
    partiallyDegraded: count('partiallyDegraded'),
  }
}

function statMapFromJson(value: unknown, path: string, reader: JsonReader): StatMap {
  const obj = reader.object(value, path) ?? {}
  const entries: [string, DataplaneStat][] = []
  for (const [backend, item] of Object.entries(obj)) {
    const at = keyPath(path, backend)
    const stat = reader.object(item, at)
    if (stat !== undefined) entries.push([backend, statFromJson(stat, at, reader)])
  }
  return fromEntries(entries)
}

export function meshInsightSpecToJson(spec: MeshInsightSpec): JsonObject {
  const out: Record<string, JsonValue> = {}
  if (spec.dataplanes !== undefined) out.dataplanes = { ...spec.dataplanes }
  if (spec.mTLS !== undefined) {
    out.mTLS = {
      issuedBackends: statMapToJson(spec.mTLS.issuedBackends),
      supportedBackends: statMapToJson(spec.mTLS.supportedBackends),
    }
  }
  return { ...out, ...spec.other }
}

function statMapToJson(stats: StatMap): JsonObject {
  return fromEntries(Object.entries(stats).map(([backend, stat]) => [backend, { ...stat }]))
}
