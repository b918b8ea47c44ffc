/** DataplaneInsight spec ↔ JSON: `mTLS` typed (certificate statistics), subscriptions kept as JSON. */
import { indexPath, joinPath } from '../validation.ts'
import type { DataplaneInsightSpec, DataplaneMtlsInsight } from './dataplane-insight.ts'
import type { JsonReader, RawObject } from './json-reader.ts'
import type { JsonObject, JsonValue } from './types.ts'

const MTLS_STRING_FIELDS = [
  'certificateExpirationTime',
  'lastCertificateRegeneration',
  'issuedBackend',
] as const

export function dataplaneInsightSpecFromJson(
  json: unknown,
  path: string,
  reader: JsonReader
): DataplaneInsightSpec {
  const obj = reader.object(json, path) ?? {}
  const subscriptionsPath = joinPath(path, 'subscriptions')
  const subscriptions: JsonObject[] = []
  for (const [i, item] of (reader.array(obj.subscriptions, subscriptionsPath) ?? []).entries()) {
    const subscription = reader.jsonObject(item, indexPath(subscriptionsPath, i))
    if (subscription !== undefined) subscriptions.push(subscription)
  }
  const mtls = reader.object(obj.mTLS, joinPath(path, 'mTLS'))
  return {
    subscriptions,
    ...(mtls === undefined ? {} : { mTLS: mtlsFromJson(mtls, joinPath(path, 'mTLS'), reader) }),
    other: reader.rest(obj, ['subscriptions', 'mTLS'], path),
  }
}

function mtlsFromJson(obj: RawObject, path: string, reader: JsonReader): DataplaneMtlsInsight {
  const out: {
    -readonly [K in keyof DataplaneMtlsInsight]: DataplaneMtlsInsight[K]
  } = {}
  for (const field of MTLS_STRING_FIELDS) {
    const value = reader.string(obj[field], joinPath(path, field))
    if (value !== undefined) out[field] = value
  }
  const regenerations = reader.integer(
    obj.certificateRegenerations,
    joinPath(path, 'certificateRegenerations')
  )
  if (regenerations !== undefined) out.certificateRegenerations = regenerations
  const supported = reader.stringArray(obj.supportedBackends, joinPath(path, 'supportedBackends'))
  if (supported !== undefined) out.supportedBackends = supported
  return out
}

export function dataplaneInsightSpecToJson(spec: DataplaneInsightSpec): JsonObject {
  const out: Record<string, JsonValue> = {}
  if (spec.subscriptions.length > 0) out.subscriptions = [...spec.subscriptions]
  if (spec.mTLS !== undefined) out.mTLS = mtlsToJson(spec.mTLS)
  return { ...out, ...spec.other }
}

function mtlsToJson(mtls: DataplaneMtlsInsight): JsonObject {
  const out: Record<string, JsonValue> = {}
  for (const field of MTLS_STRING_FIELDS) {
    const value = mtls[field]
    if (value !== undefined) out[field] = value
  }
  if (mtls.certificateRegenerations !== undefined) {
    out.certificateRegenerations = mtls.certificateRegenerations
  }
  if (mtls.supportedBackends !== undefined) out.supportedBackends = [...mtls.supportedBackends]
  return out
}
