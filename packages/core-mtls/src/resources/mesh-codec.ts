/**
 * Mesh spec ↔ JSON. Only `mtls` is typed; every other Mesh field (logging, tracing, metrics,
 * routing, constraints, …) travels in `other` untouched. Inside `mtls`, unknown fields are dropped,
 * as Kuma's protobuf JSON (`AllowUnknownFields`) drops them.
 */
import { KEY_TYPES, type KeyType } from '../ca/key-types.ts'
import { indexPath, joinPath } from '../validation.ts'
import { allowedValuesMessage, type JsonReader } from './json-reader.ts'
import type { CaBackendSpec, DpCertSpec, MeshSpec, MtlsMode, MtlsSpec } from './mesh.ts'
import { MTLS_MODES } from './mesh.ts'
import type { JsonObject, JsonValue } from './types.ts'

export function meshSpecFromJson(json: unknown, path: string, reader: JsonReader): MeshSpec {
  const obj = reader.object(json, path) ?? {}
  const mtlsPath = joinPath(path, 'mtls')
  const mtls = reader.object(obj.mtls, mtlsPath)
  return {
    ...(mtls === undefined ? {} : { mtls: mtlsFromJson(mtls, mtlsPath, reader) }),
    other: reader.rest(obj, ['mtls'], path),
  }
}

function mtlsFromJson(obj: Readonly<Record<string, unknown>>, path: string, reader: JsonReader) {
  const enabledBackend = reader.nonEmptyString(obj.enabledBackend, joinPath(path, 'enabledBackend'))
  const backendsPath = joinPath(path, 'backends')
  const items = reader.array(obj.backends, backendsPath)
  const backends = items?.map((item, i) =>
    backendFromJson(item, indexPath(backendsPath, i), reader)
  )
  const mtls: MtlsSpec = {
    ...(enabledBackend === undefined ? {} : { enabledBackend }),
    ...(backends === undefined ? {} : { backends }),
  }
  return mtls
}

function backendFromJson(json: unknown, path: string, reader: JsonReader): CaBackendSpec {
  const obj = reader.object(json, path) ?? {}
  const at = (field: string) => joinPath(path, field)
  // Read in field order so that violations come out in the order the fields are written.
  const name = reader.string(obj.name, at('name')) ?? ''
  const type = reader.string(obj.type, at('type')) ?? ''
  const mode = modeFromJson(obj.mode, at('mode'), reader)
  const dpCertJson = reader.object(obj.dpCert, at('dpCert'))
  const dpCert = dpCertJson && dpCertFromJson(dpCertJson, at('dpCert'), reader)
  const conf = reader.jsonObject(obj.conf, at('conf'))
  const rootChain = reader.object(obj.rootChain, at('rootChain'))
  const rootChainTimeout =
    rootChain && reader.nonEmptyString(rootChain.requestTimeout, at('rootChain.requestTimeout'))
  return {
    name,
    type,
    ...(mode === undefined ? {} : { mode }),
    ...(dpCert === undefined ? {} : { dpCert }),
    ...(conf === undefined ? {} : { conf }),
    ...(rootChain === undefined
      ? {}
      : { rootChain: rootChainTimeout ? { requestTimeout: rootChainTimeout } : {} }),
  }
}

function dpCertFromJson(
  obj: Readonly<Record<string, unknown>>,
  path: string,
  reader: JsonReader
): DpCertSpec {
  const at = (field: string) => joinPath(path, field)
  const rotation = reader.object(obj.rotation, at('rotation'))
  const expiration =
    rotation && reader.nonEmptyString(rotation.expiration, at('rotation.expiration'))
  const requestTimeout = reader.nonEmptyString(obj.requestTimeout, at('requestTimeout'))
  const keyType = keyTypeFromJson(obj.keyType, at('keyType'), reader)
  return {
    ...(rotation === undefined ? {} : { rotation: expiration ? { expiration } : {} }),
    ...(requestTimeout === undefined ? {} : { requestTimeout }),
    ...(keyType === undefined ? {} : { keyType }),
  }
}

/**
 * Proto enum: a name or its number. STRICT, the default, reads as absent so that `mode: STRICT`
 * and no mode are the same spec, as they are for Kuma.
 */
function modeFromJson(value: unknown, path: string, reader: JsonReader): MtlsMode | undefined {
  if (value === undefined || value === null || value === 'STRICT' || value === 0) return undefined
  if (value === 'PERMISSIVE' || value === 1) return 'PERMISSIVE'
  reader.fail(path, allowedValuesMessage(MTLS_MODES))
  return undefined
}

function keyTypeFromJson(value: unknown, path: string, reader: JsonReader): KeyType | undefined {
  const text = reader.nonEmptyString(value, path)
  if (text === undefined) return undefined
  const keyType = KEY_TYPES.find((k) => k === text)
  if (keyType === undefined) reader.fail(path, allowedValuesMessage(KEY_TYPES))
  return keyType
}

export function meshSpecToJson(spec: MeshSpec): JsonObject {
  const out: Record<string, JsonValue> = {}
  if (spec.mtls !== undefined) out.mtls = mtlsToJson(spec.mtls)
  return { ...out, ...spec.other }
}

function mtlsToJson(mtls: MtlsSpec): JsonObject {
  const out: Record<string, JsonValue> = {}
  if (mtls.enabledBackend) out.enabledBackend = mtls.enabledBackend
  if (mtls.backends !== undefined) out.backends = mtls.backends.map(backendToJson)
  return out
}

/** Field order follows `mesh.proto` (name, type, dpCert, conf, mode, rootChain), as Kuma prints it. */
function backendToJson(backend: CaBackendSpec): JsonObject {
  const out: Record<string, JsonValue> = {}
  if (backend.name !== '') out.name = backend.name
  if (backend.type !== '') out.type = backend.type
  if (backend.dpCert !== undefined) out.dpCert = dpCertToJson(backend.dpCert)
  if (backend.conf !== undefined) out.conf = backend.conf
  if (backend.mode !== undefined && backend.mode !== 'STRICT') out.mode = backend.mode
  if (backend.rootChain !== undefined) {
    const timeout = backend.rootChain.requestTimeout
    out.rootChain = timeout ? { requestTimeout: timeout } : {}
  }
  return out
}

function dpCertToJson(dpCert: DpCertSpec): JsonObject {
  const out: Record<string, JsonValue> = {}
  if (dpCert.rotation !== undefined) {
    const expiration = dpCert.rotation.expiration
    out.rotation = expiration ? { expiration } : {}
  }
  if (dpCert.requestTimeout) out.requestTimeout = dpCert.requestTimeout
  if (dpCert.keyType !== undefined) out.keyType = dpCert.keyType
  return out
}
