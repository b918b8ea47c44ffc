/**
 * What a data plane proxy needs to serve, besides its identity: the mesh's mTLS state, the RBAC
 * policy of each inbound, and for each outbound the endpoints of its service. The control plane
 * builds it from the mesh's resources (one `MeshIndex` per change, shared by every data plane of the
 * mesh) and pushes it on the data plane's configuration stream.
 */
import { type InboundPolicy, inboundPolicy } from '../authz/inbound-policy.ts'
import type { TrafficPermission } from '../authz/traffic-permission.ts'
import { type DataplaneSpec, SERVICE_TAG, type Tags } from '../resources/dataplane.ts'
import { readOutbounds } from '../resources/dataplane-outbounds.ts'
import { backendMode, enabledBackend, type MeshSpec, type MtlsMode } from '../resources/mesh.ts'
import { sniFromTags } from './sni.ts'

/** Where an outbound listens and a service's application is reached when the Dataplane is silent. */
export const DEFAULT_LOCAL_ADDRESS = '127.0.0.1'

export type MtlsState =
  | { readonly enabled: false }
  | { readonly enabled: true; readonly backend: string; readonly mode: MtlsMode }

export interface InboundConfig {
  /** The agent listens on `address:port`… */
  readonly address: string
  readonly port: number
  /** …and forwards to the application at `serviceAddress:servicePort`. */
  readonly serviceAddress: string
  readonly servicePort: number
  readonly tags: Tags
  /** The RBAC policy for mTLS connections; `null`: no TrafficPermission matches, so deny. */
  readonly policy: InboundPolicy | null
}

export interface Endpoint {
  readonly address: string
  readonly port: number
  /** The data plane serving it. */
  readonly dataplane: string
  readonly tags: Tags
}

export interface OutboundConfig {
  readonly address: string
  readonly port: number
  readonly service: string
  readonly tags: Tags
  /** The SNI to send (Kuma's `SNIFromTags` of the tags plus the mesh). */
  readonly sni: string
  /** The exact URI SAN the upstream's certificate must carry. */
  readonly identity: string
  /**
   * Every online endpoint of the service holds a certificate from the enabled backend: in
   * PERMISSIVE mode, mTLS is originated only then (Kuma's TLS readiness).
   */
  readonly tlsReady: boolean
  readonly endpoints: readonly Endpoint[]
}

export interface DataplaneConfig {
  readonly mesh: string
  readonly name: string
  readonly mtls: MtlsState
  readonly inbounds: readonly InboundConfig[]
  readonly outbounds: readonly OutboundConfig[]
}

/** A data plane of the mesh, as endpoints and TLS readiness need it. */
export interface MeshMember {
  readonly name: string
  readonly spec: DataplaneSpec
  /** Serving traffic: connected to the control plane (or within its offline grace). */
  readonly online: boolean
  /** The backend of the certificate it was last given (its DataplaneInsight). */
  readonly issuedBackend?: string
}

export interface MeshView {
  readonly mesh: string
  readonly spec: MeshSpec
  readonly permissions: readonly TrafficPermission[]
  readonly members: readonly MeshMember[]
}

/** The parts of a mesh every data plane's configuration reads, computed once per change. */
export interface MeshIndex {
  readonly view: MeshView
  readonly mtls: MtlsState
  readonly endpoints: ReadonlyMap<string, readonly Endpoint[]>
  readonly tlsReady: ReadonlySet<string>
}

export function indexMesh(view: MeshView): MeshIndex {
  const backend = enabledBackend(view.spec)
  const mtls: MtlsState =
    backend === undefined
      ? { enabled: false }
      : { enabled: true, backend: backend.name, mode: backendMode(backend) }
  const endpoints = new Map<string, Endpoint[]>()
  const notReady = new Set<string>()
  const members = [...view.members].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  for (const member of members) {
    if (!member.online) continue
    for (const endpoint of memberEndpoints(member)) {
      const service = endpoint.tags[SERVICE_TAG] ?? ''
      let list = endpoints.get(service)
      if (list === undefined) {
        list = []
        endpoints.set(service, list)
      }
      list.push(endpoint)
      if (!mtls.enabled || member.issuedBackend !== mtls.backend) notReady.add(service)
    }
  }
  const tlsReady = new Set([...endpoints.keys()].filter((service) => !notReady.has(service)))
  return { view, mtls, endpoints, tlsReady }
}

function memberEndpoints(member: MeshMember): Endpoint[] {
  const { networking } = member.spec
  const host = networking.advertisedAddress ?? networking.address
  const result: Endpoint[] = []
  for (const inbound of networking.inbound) {
    if (inbound.port === undefined) continue
    result.push({
      address: inbound.address ?? host,
      port: inbound.port,
      dataplane: member.name,
      tags: inbound.tags,
    })
  }
  return result
}

/** The configuration of the data plane `name` with `spec`, a member of the indexed mesh. */
export function dataplaneConfig(
  index: MeshIndex,
  name: string,
  spec: DataplaneSpec
): DataplaneConfig {
  const { mesh, permissions } = index.view
  const inbounds: InboundConfig[] = []
  for (const inbound of spec.networking.inbound) {
    if (inbound.port === undefined) continue
    const serviceAddress = inbound.other?.serviceAddress
    inbounds.push({
      address: inbound.address ?? spec.networking.address,
      port: inbound.port,
      serviceAddress:
        typeof serviceAddress === 'string' && serviceAddress !== ''
          ? serviceAddress
          : DEFAULT_LOCAL_ADDRESS,
      servicePort: inbound.servicePort || inbound.port,
      tags: inbound.tags,
      policy: inboundPolicy(mesh, permissions, inbound.tags),
    })
  }
  const outbounds = readOutbounds(spec).outbounds.map((outbound): OutboundConfig => {
    const service = outbound.tags[SERVICE_TAG] ?? ''
    return {
      address: outbound.address ?? DEFAULT_LOCAL_ADDRESS,
      port: outbound.port,
      service,
      tags: outbound.tags,
      sni: sniFromTags({ ...outbound.tags, mesh }),
      // Not checked as a SPIFFE path: a service no certificate can carry simply matches none.
      identity: `spiffe://${mesh}/${service}`,
      tlsReady: index.tlsReady.has(service),
      endpoints: index.endpoints.get(service) ?? [],
    }
  })
  return { mesh, name, mtls: index.mtls, inbounds, outbounds }
}
