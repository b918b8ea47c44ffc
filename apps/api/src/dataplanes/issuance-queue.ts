/**
 * Identity issuance for the data plane API, batched. Requests that arrive in the same turn of the
 * event loop (a reconnect storm brings hundreds) leave together: each mesh is read once, its CAs
 * are loaded once, and the Signer gets one batch (the worker pool splits it over its threads). The
 * Mesh is read when the batch leaves, not when a request arrives, so a batch never mixes two
 * versions of a mesh's mTLS settings.
 */
import {
  type DataplaneSpec,
  type IdentityResult,
  isMeshcaError,
  type MeshcaCore,
  MeshcaError,
  type MeshSpec,
} from '@meshca/core-mtls'

/** Largest batch; a bigger burst leaves as several. */
export const MAX_ISSUANCE_BATCH = 128

export interface QueuedIdentityRequest {
  readonly mesh: string
  readonly name: string
  readonly dataplane: DataplaneSpec
  /**
   * PEM PKCS#10 request (decision 17 of docs/decisions.md): the certificate is for its key, no key
   * is generated.
   */
  readonly csr?: string
}

export interface IssuedIdentity {
  readonly result: IdentityResult
  /** The mesh's mTLS settings the identity was issued under (see `mtlsKey`). */
  readonly mtlsKey: string
}

export interface IssuanceQueue {
  /** Rejects with the request's own error (INVALID csr, …) or the batch's (SIGNER_SATURATED, …). */
  issue(request: QueuedIdentityRequest): Promise<IssuedIdentity>
}

/** Hears every issuance of the queue: what the issuance metrics count. */
export interface IssuanceObserver {
  /** A certificate was issued, `seconds` after its request was queued. */
  issued(mesh: string, backend: string, seconds: number): void
  /** A request failed with `code` (a MeshcaError code, or INTERNAL). */
  failed(mesh: string, code: string): void
}

/**
 * A comparable form of a mesh's mTLS settings: any difference means new identities
 * (docs/kuma-compatibility.md §5.4).
 */
export function mtlsKey(spec: MeshSpec): string {
  return JSON.stringify(spec.mtls ?? null)
}

interface Pending {
  readonly request: QueuedIdentityRequest
  readonly queuedAt: number
  resolve(value: IssuedIdentity): void
  reject(error: unknown): void
}

export function createIssuanceQueue(options: {
  readonly core: MeshcaCore
  readonly maxBatch?: number
  readonly observer?: IssuanceObserver
}): IssuanceQueue {
  const { core, observer } = options
  const maxBatch = options.maxBatch ?? MAX_ISSUANCE_BATCH
  let pending: Pending[] = []
  let scheduled = false

  function flush(): void {
    scheduled = false
    const batch = pending
    pending = []
    const byMesh = new Map<string, Pending[]>()
    for (const item of batch) {
      const group = byMesh.get(item.request.mesh) ?? []
      group.push(item)
      byMesh.set(item.request.mesh, group)
    }
    for (const [mesh, group] of byMesh) void issueGroup(mesh, group)
  }

  async function issueGroup(meshName: string, group: readonly Pending[]): Promise<void> {
    try {
      const mesh = await core.meshes.get(meshName)
      if (mesh === undefined) {
        throw new MeshcaError('NOT_FOUND', `Resource not found: type="Mesh" name="${meshName}"`)
      }
      const key = mtlsKey(mesh.spec)
      const results = await core.identities.issueMany(
        group.map(({ request }) => ({
          mesh: meshName,
          meshSpec: mesh.spec,
          dataplane: request.name,
          dataplaneSpec: request.dataplane,
          ...(request.csr === undefined ? {} : { csr: request.csr }),
        }))
      )
      const now = performance.now()
      group.forEach((item, i) => {
        const result = results[i]
        if (result === undefined) {
          fail(item, new MeshcaError('INTERNAL', 'no identity was produced'))
        } else if (isMeshcaError(result)) {
          fail(item, result)
        } else {
          if (result.mode !== 'DISABLED') {
            observer?.issued(meshName, result.backend, (now - item.queuedAt) / 1000)
          }
          item.resolve({ result, mtlsKey: key })
        }
      })
    } catch (error) {
      for (const item of group) fail(item, error)
    }
  }

  function fail(item: Pending, error: unknown): void {
    observer?.failed(item.request.mesh, isMeshcaError(error) ? error.code : 'INTERNAL')
    item.reject(error)
  }

  return {
    issue(request) {
      return new Promise<IssuedIdentity>((resolve, reject) => {
        pending.push({ request, queuedAt: performance.now(), resolve, reject })
        if (pending.length >= maxBatch) {
          flush()
        } else if (!scheduled) {
          scheduled = true
          // After the I/O phase: every request parsed in this turn joins the batch.
          setImmediate(flush)
        }
      })
    },
  }
}
