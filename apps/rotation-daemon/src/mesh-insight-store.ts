import { isMeshcaError, type MeshcaCore, type MeshInsightSpec } from '@meshca/core-mtls'
import type { StepFailures } from './daemon-metrics.ts'

/** Writes a mesh's MeshInsight when it changed; whether it wrote. */
export async function writeMeshInsight(
  core: MeshcaCore,
  mesh: string,
  spec: MeshInsightSpec
): Promise<boolean> {
  const stored = await core.resources.get('MeshInsight', '', mesh)
  if (stored !== undefined && JSON.stringify(stored.spec) === JSON.stringify(spec)) return false
  try {
    if (stored === undefined) {
      await core.resources.create({ type: 'MeshInsight', mesh: '', name: mesh, spec })
    } else {
      await core.resources.update({ ...stored, spec })
    }
    return true
  } catch (error) {
    // Another writer (a previous leader still finishing its tick): the next tick settles it.
    if (isMeshcaError(error, 'CONFLICT') || isMeshcaError(error, 'ALREADY_EXISTS')) return false
    throw error
  }
}

/** Deletes the MeshInsights of meshes that are not in `meshes`. */
export async function removeOrphanMeshInsights(
  core: MeshcaCore,
  meshes: ReadonlySet<string>,
  failures: StepFailures
): Promise<void> {
  for (const insight of await core.resources.listAll('MeshInsight')) {
    if (meshes.has(insight.name)) continue
    try {
      await core.resources.delete('MeshInsight', '', insight.name)
    } catch (error) {
      if (!isMeshcaError(error, 'NOT_FOUND')) failures.fail('remove MeshInsight', error)
    }
  }
}
