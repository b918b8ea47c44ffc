/**
 * A reconciler's "ensure the CA material of this mesh" that never leaves material behind for a mesh
 * deleted meanwhile.
 *
 * The reconciler listed the Mesh, then ensures its CAs: when the Mesh is deleted in between, the
 * delete's cascade may remove the CA Secrets before the reconciler reads them, and the reconciler
 * writes a new CA for a mesh that no longer exists. The Store has no transaction spanning two rows,
 * so the write cannot be made conditional on the Mesh. Instead both sides write, then read what
 * the other writes, each read seeing every write committed before it started (`list`, never a cache:
 * see `stored-meshes.ts`):
 *
 *   reconciler:  write Secrets (W)  →  read the Mesh (R)  →  Mesh gone: delete what W wrote
 *   delete:      delete the Mesh (D)  →  list the mesh's Secrets (L)  →  delete them
 *
 * - R after D: R sees the Mesh gone and the reconciler deletes its own writes.
 * - R before D: then W, before R, is before D, before L: L lists W's Secrets and the cascade
 *   deletes them.
 * Either way nothing of the deleted mesh is left, on any store whose single-row writes are
 * committed when they return and whose `list` sees them (memory, PGlite, PostgreSQL), and whatever
 * instance each side runs on: neither relies on an event or a cache.
 *
 * What is deleted is only what this reconcile wrote: a Secret is deleted when it still holds the
 * very bytes written here (fresh key material: no one else writes the same), at the version read, so
 * a Secret written again meanwhile stays. One interleaving still loses material: the mesh is created
 * again by name between R and the deletion, and that create found this reconcile's CA and took it
 * (two creates of one mesh share one CA). The new Mesh then has no CA for a moment; its creation
 * makes the daemon tick, which makes a fresh one. A crash between W and the deletion leaves an
 * orphan for `orphan-sweep.ts`.
 */
import type { CaBackend, CaContext, SecretAccess } from '../ca/ca-backend.ts'
import { type CaBackendRegistry, caBackendFor, defaultCaBackends } from '../ca/registry.ts'
import { isMeshcaError } from '../errors.ts'
import type { Store } from '../ports/store.ts'
import type { MeshSpec } from '../resources/mesh.ts'
import { bytesEqual } from '../util/bytes.ts'
import type { SystemSecretAccess } from './sealed-secrets.ts'
import { meshIsStored } from './stored-meshes.ts'

export interface CaReconcileOptions {
  readonly store: Store
  /** `ctx.secrets` is replaced by `secrets`, recorded. */
  readonly ctx: CaContext
  /** The SecretManager's unguarded access (`core.secrets.system`): the Mesh may be gone. */
  readonly secrets: SystemSecretAccess
  readonly caBackends?: CaBackendRegistry
}

export interface CaReconcileResult {
  /** Secrets this reconcile created or replaced. */
  readonly written: number
  /**
   * The Mesh was found deleted (asked only after a write or a failure): what was written is
   * removed again, and a failure is not reported.
   */
  readonly meshDeleted: boolean
  /** Secrets removed again because the Mesh was gone. */
  readonly removed: number
}

interface Written {
  readonly mesh: string
  readonly name: string
  readonly data: Uint8Array
}

/** `secrets`, noting every write in `written` before it is sent (a write may commit and still fail). */
function recordingSecrets(secrets: SecretAccess, written: Written[]): SecretAccess {
  return {
    get: (mesh, name) => secrets.get(mesh, name),
    create: (mesh, name, data) => {
      written.push({ mesh, name, data })
      return secrets.create(mesh, name, data)
    },
    update: (mesh, name, data, expectedVersion) => {
      written.push({ mesh, name, data })
      return secrets.update(mesh, name, data, expectedVersion)
    },
  }
}

/** Deletes each Secret that still holds bytes written here; returns how many went. */
async function removeWritten(secrets: SystemSecretAccess, written: readonly Written[]) {
  let removed = 0
  const names = new Set(written.map((w) => w.name))
  for (const name of names) {
    const mine = written.filter((w) => w.name === name)
    const mesh = mine[0]?.mesh ?? ''
    const stored = await secrets.get(mesh, name)
    if (stored === undefined || !mine.some((w) => bytesEqual(w.data, stored.data))) continue
    try {
      await secrets.delete(mesh, name, stored.version)
      removed++
    } catch (error) {
      // Deleted (the cascade) or written again since it was read: either way no longer ours.
      if (!isMeshcaError(error, 'NOT_FOUND') && !isMeshcaError(error, 'CONFLICT')) throw error
    }
  }
  return removed
}

/**
 * Creates the missing CA material of every backend of `spec`, the Mesh `mesh`, in order; `lookup`
 * finds each backend's plugin, or throws the caller's error for a type none is installed for.
 */
export async function ensureMeshCas(
  caBackends: CaBackendRegistry,
  ctx: CaContext,
  mesh: string,
  spec: MeshSpec,
  lookup: (registry: CaBackendRegistry, type: string) => CaBackend = caBackendFor
): Promise<void> {
  for (const backend of spec.mtls?.backends ?? []) {
    await lookup(caBackends, backend.type).ensure(ctx, mesh, backend)
  }
}

/**
 * Creates the missing CA material of every backend of the Mesh `mesh` (as `ensureMeshCas`),
 * then, if anything was written or a backend failed, checks that the Mesh is still stored; if it is
 * not, removes what was written and reports `meshDeleted` instead of a failure.
 */
export async function reconcileMeshCas(
  options: CaReconcileOptions,
  mesh: string,
  spec: MeshSpec
): Promise<CaReconcileResult> {
  const caBackends = options.caBackends ?? defaultCaBackends()
  const written: Written[] = []
  const ctx: CaContext = { ...options.ctx, secrets: recordingSecrets(options.secrets, written) }
  let failure: { readonly error: unknown } | undefined
  try {
    await ensureMeshCas(caBackends, ctx, mesh, spec)
  } catch (error) {
    failure = { error }
  }
  if (written.length === 0 && failure === undefined) {
    return { written: 0, meshDeleted: false, removed: 0 }
  }
  if (await meshIsStored(options.store, mesh)) {
    if (failure !== undefined) throw failure.error
    return { written: written.length, meshDeleted: false, removed: 0 }
  }
  const removed = await removeWritten(options.secrets, written)
  return { written: written.length, meshDeleted: true, removed }
}
