/**
 * The Kubernetes form. Kuma kinds are `kuma.io/v1alpha1` objects with the spec under `spec`; Mesh and
 * MeshInsight are cluster-scoped, and the legacy mesh-scoped kinds (Dataplane, TrafficPermission, …)
 * carry a top-level `mesh` next to `spec`. A Secret is a core v1 Secret of type
 * `system.kuma.io/secret`, its mesh in the `kuma.io/mesh` label and its payload in `data.value`.
 */
import { validationError } from '../errors.ts'
import { fromBase64, toBase64, utf8 } from '../util/bytes.ts'
import { readSpec, specToJson } from './codec.ts'
import { allowedValuesMessage, isRawObject, JsonReader, type RawObject } from './json-reader.ts'
import type { AnyResource, Resource } from './resource.ts'
import { INVALID_BASE64_MESSAGE } from './secret-codec.ts'
import type { JsonObject, JsonValue, ResourceType } from './types.ts'
import { isMeshScoped, RESOURCE_TYPES } from './types.ts'

export const KUMA_API_VERSION = 'kuma.io/v1alpha1'
export const KUMA_SECRET_TYPE = 'system.kuma.io/secret'
export const MESH_LABEL = 'kuma.io/mesh'
/** What Kuma assumes when a Kubernetes object names no mesh. */
export const DEFAULT_MESH = 'default'

/** Kinds whose objects live in a namespace; the others are cluster-scoped CRDs. */
const NAMESPACED: ReadonlySet<ResourceType> = new Set(['Secret', 'Dataplane', 'DataplaneInsight'])

/** Kuma's CRDs carry the proto under `spec`, except insights of a data plane, which are `status`. */
function bodyKey(type: ResourceType): 'spec' | 'status' {
  return type === 'DataplaneInsight' ? 'status' : 'spec'
}

const KUMA_KINDS: ReadonlyMap<string, ResourceType> = new Map(
  (Object.keys(RESOURCE_TYPES) as ResourceType[])
    .filter((type) => type !== 'Secret')
    .map((type) => [RESOURCE_TYPES[type].kind, type])
)

export function decodeKubernetes(obj: unknown): AnyResource {
  if (!isRawObject(obj)) throw validationError([{ field: '', message: 'must be an object' }])
  const reader = new JsonReader()
  const apiVersion = reader.string(obj.apiVersion, 'apiVersion')
  const kind = reader.string(obj.kind, 'kind')
  reader.throwIfAny()
  if (apiVersion === 'v1') {
    if (kind !== 'Secret') reader.fail('kind', allowedValuesMessage(['Secret']))
    reader.throwIfAny()
    return decodeSecret(obj, reader)
  }
  if (apiVersion !== KUMA_API_VERSION) {
    reader.fail('apiVersion', allowedValuesMessage([KUMA_API_VERSION, 'v1']))
    reader.throwIfAny()
  }
  const type = kind === undefined ? undefined : KUMA_KINDS.get(kind)
  if (type === undefined) {
    reader.fail('kind', allowedValuesMessage([...KUMA_KINDS.keys()]))
    throw validationError(reader.violations.violations)
  }
  const name = readName(obj, reader)
  const mesh = isMeshScoped(type) ? reader.string(obj.mesh, 'mesh') || DEFAULT_MESH : ''
  const body = bodyKey(type)
  const spec = readSpec(type, obj[body] ?? {}, body, reader)
  reader.throwIfAny()
  return { type, name, mesh, spec } as AnyResource
}

function readName(obj: RawObject, reader: JsonReader): string {
  const metadata = reader.object(obj.metadata, 'metadata') ?? {}
  return reader.string(metadata.name, 'metadata.name') ?? ''
}

function decodeSecret(obj: RawObject, reader: JsonReader): Resource<'Secret'> {
  const secretType = reader.string(obj.type, 'type')
  if (secretType !== KUMA_SECRET_TYPE) reader.fail('type', allowedValuesMessage([KUMA_SECRET_TYPE]))
  const name = readName(obj, reader)
  const metadata = reader.object(obj.metadata, 'metadata') ?? {}
  const labels = reader.stringMap(metadata.labels, 'metadata.labels') ?? {}
  const mesh = (Object.hasOwn(labels, MESH_LABEL) ? labels[MESH_LABEL] : undefined) || DEFAULT_MESH
  const data = readSecretValue(obj, reader)
  reader.throwIfAny()
  return { type: 'Secret', name, mesh, spec: { data } }
}

/** Kubernetes lets `stringData` (plain text) override `data` (base64); both are honoured. */
function readSecretValue(obj: RawObject, reader: JsonReader): Uint8Array {
  const stringData = reader.object(obj.stringData, 'stringData')
  const plain = stringData && reader.string(stringData.value, 'stringData.value')
  if (plain !== undefined) return utf8(plain)
  const data = reader.object(obj.data, 'data')
  const encoded = data && reader.string(data.value, 'data.value')
  if (encoded === undefined) return new Uint8Array()
  const bytes = fromBase64(encoded)
  if (bytes === undefined) reader.fail('data.value', INVALID_BASE64_MESSAGE)
  return bytes ?? new Uint8Array()
}

export interface KubernetesEncodeOptions {
  /** Namespace for namespaced kinds (Secret, Dataplane); Kuma keeps its Secrets in its system namespace. */
  readonly namespace?: string
}

export function encodeKubernetes(
  resource: Resource,
  options: KubernetesEncodeOptions = {}
): JsonObject {
  const metadata: Record<string, JsonValue> = { name: resource.name }
  if (options.namespace !== undefined && NAMESPACED.has(resource.type)) {
    metadata.namespace = options.namespace
  }
  if (resource.type === 'Secret') {
    const secret = resource as Resource<'Secret'>
    metadata.labels = { [MESH_LABEL]: secret.mesh }
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata,
      type: KUMA_SECRET_TYPE,
      data: { value: toBase64(secret.spec.data) },
    }
  }
  const head: Record<string, JsonValue> = {
    apiVersion: KUMA_API_VERSION,
    kind: RESOURCE_TYPES[resource.type].kind,
  }
  if (isMeshScoped(resource.type)) head.mesh = resource.mesh
  return {
    ...head,
    metadata,
    [bodyKey(resource.type)]: specToJson<ResourceType>(resource.type, resource.spec),
  }
}
