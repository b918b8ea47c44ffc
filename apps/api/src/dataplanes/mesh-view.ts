/**
 * A mesh as the data plane configuration reads it: the Mesh, its TrafficPermissions, and its data
 * planes with whether each is serving (online, or within its offline grace) and the backend of the
 * certificate it holds. Read straight from the store, once per change of the mesh.
 */
import {
  type DataplaneInsightSpec,
  isOnline,
  type MeshcaCore,
  type MeshMember,
  type MeshView,
} from '@meshca/core-mtls'

export interface LoadedMeshView {
  readonly view: MeshView
  /**
   * When the next data plane within its offline grace stops counting as online (epoch ms): the
   * view must be loaded again then.
   */
  readonly graceEndsAt?: number
}

/** When the newest subscription of an offline data plane ended (epoch ms), if it says. */
function disconnectedAt(insight: DataplaneInsightSpec): number | undefined {
  const end = insight.subscriptions.at(-1)?.disconnectTime
  const at = end === undefined ? Number.NaN : Date.parse(String(end))
  return Number.isNaN(at) ? undefined : at
}

/** `undefined` when the mesh does not exist. */
export async function loadMeshView(
  core: MeshcaCore,
  mesh: string,
  now: number,
  offlineGraceMs: number
): Promise<LoadedMeshView | undefined> {
  const [meshResource, permissions, dataplanes, insights] = await Promise.all([
    core.meshes.get(mesh),
    core.resources.listAll('TrafficPermission', mesh),
    core.resources.listAll('Dataplane', mesh),
    core.resources.listAll('DataplaneInsight', mesh),
  ])
  if (meshResource === undefined) return undefined
  const insightOf = new Map(insights.map((insight) => [insight.name, insight.spec]))
  let graceEndsAt: number | undefined
  const members = dataplanes.map((dataplane): MeshMember => {
    const insight = insightOf.get(dataplane.name)
    let online = insight !== undefined && isOnline(insight)
    const disconnected = insight === undefined || online ? undefined : disconnectedAt(insight)
    if (disconnected !== undefined && disconnected + offlineGraceMs > now) {
      // A stream that just ended (a control plane restart, a reconnect) does not withdraw the data
      // plane's endpoints at once: it is likely back in a moment.
      online = true
      graceEndsAt = Math.min(graceEndsAt ?? Number.POSITIVE_INFINITY, disconnected + offlineGraceMs)
    }
    const issuedBackend = insight?.mTLS?.issuedBackend
    return {
      name: dataplane.name,
      spec: dataplane.spec,
      online,
      ...(issuedBackend === undefined ? {} : { issuedBackend }),
    }
  })
  return {
    view: { mesh, spec: meshResource.spec, permissions, members },
    ...(graceEndsAt === undefined ? {} : { graceEndsAt }),
  }
}
