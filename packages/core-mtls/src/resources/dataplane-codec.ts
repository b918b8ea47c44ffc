/**
 * Dataplane spec ↔ JSON. meshca reads the address, the inbounds (ports, address, tags) and the
 * gateway (tags, type), which identity and authorization need; outbounds, transparent proxying,
 * probes and the rest stay in `other` at their level, untouched.
 */
import { indexPath, joinPath } from '../validation.ts'
import type { DataplaneGateway, DataplaneInbound, DataplaneSpec } from './dataplane.ts'
import { allowedValuesMessage, type JsonReader, type RawObject } from './json-reader.ts'
import type { JsonObject, JsonValue } from './types.ts'

const GATEWAY_TYPES = ['DELEGATED', 'BUILTIN'] as const

export function dataplaneSpecFromJson(
  json: unknown,
  path: string,
  reader: JsonReader
): DataplaneSpec {
  const obj = reader.object(json, path) ?? {}
  const networkingPath = joinPath(path, 'networking')
  const networking = reader.object(obj.networking, networkingPath) ?? {}
  const at = (field: string) => joinPath(networkingPath, field)
  const address = reader.string(networking.address, at('address')) ?? ''
  const advertisedAddress = reader.nonEmptyString(
    networking.advertisedAddress,
    at('advertisedAddress')
  )
  const inbound = (reader.array(networking.inbound, at('inbound')) ?? []).map((item, i) =>
    inboundFromJson(item, indexPath(at('inbound'), i), reader)
  )
  const gatewayJson = reader.object(networking.gateway, at('gateway'))
  const gateway = gatewayJson && gatewayFromJson(gatewayJson, at('gateway'), reader)
  return {
    networking: {
      address,
      ...(advertisedAddress === undefined ? {} : { advertisedAddress }),
      inbound,
      ...(gateway === undefined ? {} : { gateway }),
      other: reader.rest(
        networking,
        ['address', 'advertisedAddress', 'inbound', 'gateway'],
        networkingPath
      ),
    },
    other: reader.rest(obj, ['networking'], path),
  }
}

function inboundFromJson(json: unknown, path: string, reader: JsonReader): DataplaneInbound {
  const obj = reader.object(json, path) ?? {}
  const at = (field: string) => joinPath(path, field)
  const port = reader.integer(obj.port, at('port'))
  const servicePort = reader.integer(obj.servicePort, at('servicePort'))
  const address = reader.nonEmptyString(obj.address, at('address'))
  return {
    ...(port === undefined ? {} : { port }),
    ...(servicePort === undefined ? {} : { servicePort }),
    ...(address === undefined ? {} : { address }),
    tags: reader.stringMap(obj.tags, at('tags')) ?? {},
    other: reader.rest(obj, ['port', 'servicePort', 'address', 'tags'], path),
  }
}

function gatewayFromJson(obj: RawObject, path: string, reader: JsonReader): DataplaneGateway {
  const type = gatewayTypeFromJson(obj.type, joinPath(path, 'type'), reader)
  return {
    tags: reader.stringMap(obj.tags, joinPath(path, 'tags')) ?? {},
    ...(type === undefined ? {} : { type }),
    other: reader.rest(obj, ['tags', 'type'], path),
  }
}

/** Proto enum like `mode`: DELEGATED (0) is the default and reads as absent. */
function gatewayTypeFromJson(value: unknown, path: string, reader: JsonReader) {
  if (value === undefined || value === null || value === 'DELEGATED' || value === 0)
    return undefined
  if (value === 'BUILTIN' || value === 1) return 'BUILTIN'
  reader.fail(path, allowedValuesMessage(GATEWAY_TYPES))
  return undefined
}

export function dataplaneSpecToJson(spec: DataplaneSpec): JsonObject {
  const { networking } = spec
  const out: Record<string, JsonValue> = {}
  if (networking.address !== '') out.address = networking.address
  if (networking.advertisedAddress) out.advertisedAddress = networking.advertisedAddress
  if (networking.gateway !== undefined) out.gateway = gatewayToJson(networking.gateway)
  if (networking.inbound.length > 0) out.inbound = networking.inbound.map(inboundToJson)
  return { networking: { ...out, ...networking.other }, ...spec.other }
}

function inboundToJson(inbound: DataplaneInbound): JsonObject {
  const out: Record<string, JsonValue> = {}
  if (inbound.port !== undefined) out.port = inbound.port
  if (inbound.servicePort !== undefined) out.servicePort = inbound.servicePort
  if (inbound.address) out.address = inbound.address
  out.tags = { ...inbound.tags }
  return { ...out, ...inbound.other }
}

function gatewayToJson(gateway: DataplaneGateway): JsonObject {
  const out: Record<string, JsonValue> = { tags: { ...gateway.tags } }
  if (gateway.type !== undefined && gateway.type !== 'DELEGATED') out.type = gateway.type
  return { ...out, ...gateway.other }
}
