/**
 * Removes mesh-scoped resources (Secrets, Dataplanes, their insights, TrafficPermissions) whose Mesh
 * does not exist: what a control plane that crashed in the middle of a write left, or a write that
 * raced a mesh's delete. A new Mesh of the same name must not inherit them (a CA, a token signing
 * key).
 *
 * A resource written for a Mesh that does not exist yet is not always an orphan: `MeshManager.create`
 * writes the builtin CA Secrets before the Mesh, and two instances creating one mesh at once both
 * use the first one's CA. Such a gap lasts one or two store writes (milliseconds; seconds for a store
 * in trouble), so only rows left unchanged for a grace period far beyond it (a minute by default)
 * are taken; the Mesh is asked for again right before its rows go, and each row is deleted at the
 * version seen, so a row written meanwhile stays until a later sweep. The grace is measured from the
 * row's modification time, stamped by the store (the database's clock for PostgreSQL) and compared
 * with `clock`: it must also exceed the skew between the two.
 *
 * Rows under a `mesh` no Mesh can be named (the control plane's own Secrets under a dotted name,
 * `meshca.system` in apps/api) belong to no mesh and are never taken.
 */
import { isMeshcaError } from '../errors.ts'
import type { Clock, Logger } from '../ports/runtime.ts'
import type { Store, StoredResource } from '../ports/store.ts'
import { meshNameProblem } from '../resources/names.ts'
import { isMeshScoped, RESOURCE_TYPES, type ResourceType } from '../resources/types.ts'
import { storedPages } from './store-pages.ts'
import { meshIsStored, storedMeshNames } from './stored-meshes.ts'

/** Far beyond the gap between a create's first CA write and its Mesh (see above). */
export const DEFAULT_ORPHAN_GRACE_MS = 60_000

export interface OrphanSweepOptions {
  readonly store: Store
  readonly clock: Clock
  /** Rows modified more recently than this are left alone; default `DEFAULT_ORPHAN_GRACE_MS`. */
  readonly graceMs?: number
  /** One `info` line per mesh whose rows went. */
  readonly logger?: Logger
}

export interface OrphanSweepResult {
  /** What was deleted, as `Type mesh/name`. */
  readonly removed: readonly string[]
}

const MESH_SCOPED_TYPES = (Object.keys(RESOURCE_TYPES) as ResourceType[]).filter(isMeshScoped)

type Candidate = Pick<StoredResource, 'type' | 'mesh' | 'name' | 'version'>

/** Rows of meshes not in `meshes`, unchanged since before `cutoff`, by mesh. */
async function findOrphans(
  store: Store,
  meshes: ReadonlySet<string>,
  cutoff: number
): Promise<Map<string, Candidate[]>> {
  const byMesh = new Map<string, Candidate[]>()
  for (const type of MESH_SCOPED_TYPES) {
    for await (const items of storedPages(store, type)) {
      for (const { mesh, name, version, modificationTime } of items) {
        if (meshes.has(mesh) || modificationTime.getTime() > cutoff) continue
        if (meshNameProblem(mesh) !== undefined) continue
        const rows = byMesh.get(mesh) ?? []
        rows.push({ type, mesh, name, version })
        byMesh.set(mesh, rows)
      }
    }
  }
  return byMesh
}

/** Deletes each row at the version seen; returns those that went. */
async function deleteRows(store: Store, rows: readonly Candidate[]): Promise<string[]> {
  const removed: string[] = []
  for (const { type, mesh, name, version } of rows) {
    try {
      await store.delete({ type, mesh, name }, version)
      removed.push(`${type} ${mesh}/${name}`)
    } catch (error) {
      // Gone already, or written since: a later sweep judges the new version.
      if (!isMeshcaError(error, 'NOT_FOUND') && !isMeshcaError(error, 'CONFLICT')) throw error
    }
  }
  return removed
}

/** One pass over every mesh-scoped row of the store; run it from one place (the leading daemon). */
export async function sweepOrphans(options: OrphanSweepOptions): Promise<OrphanSweepResult> {
  const { store } = options
  const cutoff = options.clock.now().getTime() - (options.graceMs ?? DEFAULT_ORPHAN_GRACE_MS)
  const orphans = await findOrphans(store, await storedMeshNames(store), cutoff)
  const removed: string[] = []
  for (const [mesh, rows] of orphans) {
    // Created since the listing: its create may have taken these rows as its own.
    if (await meshIsStored(store, mesh)) continue
    const gone = await deleteRows(store, rows)
    removed.push(...gone)
    if (gone.length > 0) {
      options.logger?.log('info', 'removed resources of a mesh that does not exist', {
        mesh,
        count: gone.length,
      })
    }
  }
  return { removed }
}
