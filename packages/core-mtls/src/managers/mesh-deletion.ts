import { isMeshcaError, MeshcaError, validationError } from '../errors.ts'
import type { Logger } from '../ports/runtime.ts'
import type { Store } from '../ports/store.ts'
import { RESOURCE_TYPES, type ResourceType } from '../resources/types.ts'

const MESH_SCOPED_TYPES = (Object.keys(RESOURCE_TYPES) as ResourceType[]).filter(
  (t) => RESOURCE_TYPES[t].scope === 'mesh'
)

export interface MeshDeletionOptions {
  readonly store: Store
  readonly logger: Logger
  /** Kuma's `store.unsafeDelete`: delete a mesh even while data planes are attached. */
  readonly unsafeDelete?: boolean
}

/**
 * Deletes the Mesh `name` and everything of it (Secrets, policies). With `expectedVersion`, only
 * that version: CONFLICT when it changed since the caller looked at it.
 */
export async function deleteMesh(
  options: MeshDeletionOptions,
  name: string,
  expectedVersion?: string
): Promise<void> {
  const { store } = options
  const mesh = await store.get({ type: 'Mesh', mesh: '', name })
  if (!mesh) throw new MeshcaError('NOT_FOUND', `Resource not found: type="Mesh" name="${name}"`)
  if (!options.unsafeDelete) {
    const dataplanes = await store.list('Dataplane', { mesh: name, size: 1 })
    if (dataplanes.total > 0) {
      throw validationError([
        {
          field: 'mesh',
          message: 'unable to delete mesh, there are still some dataplanes attached',
        },
      ])
    }
  }
  await store.delete({ type: 'Mesh', mesh: '', name }, expectedVersion ?? mesh.version)
  // Kuma deletes every Secret of the mesh (CA material, token keys) and its policies with it.
  await deleteAllOfMesh(store, name)
  options.logger.log('info', 'mesh deleted', { mesh: name })
}

async function deleteAllOfMesh(store: Store, mesh: string): Promise<void> {
  for (const type of MESH_SCOPED_TYPES) {
    // Bounded: a store that keeps listing a row it says is gone must not spin forever.
    for (let round = 0; round < 10_000; round++) {
      const page = await store.list(type, { mesh, size: 1000 })
      if (page.items.length === 0) break
      for (const row of page.items) {
        try {
          await store.delete({ type, mesh, name: row.name })
        } catch (error) {
          if (!isMeshcaError(error, 'NOT_FOUND')) throw error
        }
      }
    }
  }
}
