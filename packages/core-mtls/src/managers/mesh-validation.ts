import type { CaContext } from '../ca/ca-backend.ts'
import type { CaBackendRegistry } from '../ca/registry.ts'
import type { Violation } from '../errors.ts'
import type { CaBackendSpec } from '../resources/mesh.ts'
import type { Resource } from '../resources/resource.ts'
import { validateResource } from '../resources/validate.ts'
import { jsonEqual } from '../util/json-equal.ts'
import { ViolationList } from '../validation.ts'
import { caChangeViolations, caRoot } from './ca-change-gate.ts'
import type { ResourceManager } from './resource-manager.ts'

export interface MeshValidation {
  readonly violations: readonly Violation[]
  /** Accepted, but worth telling the user (decision 5 of docs/decisions.md). */
  readonly warnings: readonly Violation[]
}

export interface MeshUpdateOptions {
  /**
   * Disaster recovery only: switch `enabledBackend` even though online data planes do not trust the
   * new backend yet (decision 4 of docs/decisions.md). Their connections break until they receive
   * the new bundle.
   */
  readonly allowUnsafeBackendSwitch?: boolean
}

export interface MeshValidationContext {
  readonly caBackends: CaBackendRegistry
  readonly resources: ResourceManager
  /**
   * The CA context the backends are checked with: the stored one, or one with a proposed Secret.
   */
  readonly ctx: CaContext
}

/**
 * What is wrong with `mesh` as a create (no `previous`) or as an update of `previous`: the
 * resource's own rules, then the CA change gate, then each backend's checks.
 */
export async function validateMesh(
  context: MeshValidationContext,
  mesh: Resource<'Mesh'>,
  previous?: Resource<'Mesh'>,
  options: MeshUpdateOptions = {}
): Promise<MeshValidation> {
  const violations = new ViolationList()
  const warnings = new ViolationList()
  violations.addAll('', validateResource(mesh))
  if (!violations.isEmpty) return { violations: violations.violations, warnings: [] }
  if (previous && !options.allowUnsafeBackendSwitch) {
    const { caBackends, resources, ctx } = context
    const gate = {
      insights: async () =>
        (await resources.listAll('DataplaneInsight', mesh.name)).map((i) => i.spec),
      root: (backend: CaBackendSpec) => caRoot(caBackends, ctx, mesh.name, backend),
    }
    const refused = await caChangeViolations(gate, mesh.spec, previous.spec)
    if (refused.length > 0) return { violations: refused, warnings: [] }
  }
  await validateBackends(context, mesh, previous, violations, warnings)
  return { violations: violations.violations, warnings: warnings.violations }
}

async function validateBackends(
  { caBackends, ctx }: MeshValidationContext,
  mesh: Resource<'Mesh'>,
  previous: Resource<'Mesh'> | undefined,
  out: ViolationList,
  warnings: ViolationList
): Promise<void> {
  const backends = mesh.spec.mtls?.backends ?? []
  const before = new Map((previous?.spec.mtls?.backends ?? []).map((b) => [b.name, b]))
  for (const [i, backend] of backends.entries()) {
    const plugin = caBackends.get(backend.type)
    if (!plugin) {
      // Kuma stops at the first unknown type: later backends are not validated.
      out.add(`mtls.backends[${i}].type`, 'could not find installed plugin for this type')
      return
    }
    const result = await plugin.validate(ctx, mesh.name, backend)
    // A backend this update leaves as it was keeps the problems it had (a CA that expired since):
    // they are reported, not allowed to block the update, which may be the one that replaces it.
    const unchanged = jsonEqual(before.get(backend.name), backend)
    ;(unchanged ? warnings : out).addAll(`mtls.backends[${i}]`, result.violations)
    warnings.addAll(`mtls.backends[${i}]`, result.warnings)
  }
}
