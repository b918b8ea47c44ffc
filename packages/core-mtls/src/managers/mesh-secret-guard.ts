import type { CaContext, SecretAccess, StoredSecret } from '../ca/ca-backend.ts'
import type { CaBackendRegistry } from '../ca/registry.ts'
import type { Violation } from '../errors.ts'
import type { Store } from '../ports/store.ts'
import { type CaBackendSpec, mtlsEnabled } from '../resources/mesh.ts'
import type { Resource } from '../resources/resource.ts'
import { caRoot, secretReplacesTrustedRoot } from './ca-change-gate.ts'
import type { ResourceManager } from './resource-manager.ts'
import type { SecretGuard } from './secret-manager.ts'

export interface MeshSecretGuardOptions {
  readonly store: Store
  readonly ctx: CaContext
  readonly caBackends: CaBackendRegistry
  readonly resources: ResourceManager
}

/** What the SecretManager asks of meshes: whether one exists, and which Secrets its CAs use. */
export function createMeshSecretGuard(options: MeshSecretGuardOptions): SecretGuard {
  const { store, caBackends, resources } = options
  return {
    async meshExists(mesh) {
      return (await store.get({ type: 'Mesh', mesh: '', name: mesh })) !== undefined
    },
    async usage(mesh, name) {
      const resource = await resources.get('Mesh', '', mesh)
      for (const backend of resource?.spec.mtls?.backends ?? []) {
        const plugin = caBackends.get(backend.type)
        if (plugin?.usedSecrets(mesh, backend).includes(name)) return { backend: backend.name }
      }
      return undefined
    },
    async validateChange(mesh, name, data) {
      const resource = await resources.get('Mesh', '', mesh)
      if (!resource) return []
      const violations: Violation[] = []
      for (const [i, backend] of (resource.spec.mtls?.backends ?? []).entries()) {
        if (!caBackends.get(backend.type)?.usedSecrets(mesh, backend).includes(name)) continue
        violations.push(...(await backendChange(options, resource, i, backend, name, data)))
      }
      return violations
    },
  }
}

/** What writing `data` into Secret `name` would break in the backend at `index` of `mesh`. */
async function backendChange(
  { ctx, caBackends, resources }: MeshSecretGuardOptions,
  mesh: Resource<'Mesh'>,
  index: number,
  backend: CaBackendSpec,
  name: string,
  data: Uint8Array
): Promise<Violation[]> {
  const context = withProposedSecret(ctx, mesh.name, name, data)
  const result = await caBackends.get(backend.type)?.validate(context, mesh.name, backend)
  if (result === undefined) return []
  const violations = result.violations.map((v) => ({
    field: 'data',
    message: `the new value breaks mTLS backend "${backend.name}" of Mesh "${mesh.name}" (mtls.backends[${index}].${v.field}: ${v.message})`,
  }))
  if (result.violations.length === 0 && mtlsEnabled(mesh.spec)) {
    const replaced = await secretReplacesTrustedRoot({
      insights: async () =>
        (await resources.listAll('DataplaneInsight', mesh.name)).map((i) => i.spec),
      before: () => caRoot(caBackends, ctx, mesh.name, backend),
      after: () => caRoot(caBackends, context, mesh.name, backend),
      backend: backend.name,
      enabled: mesh.spec.mtls?.enabledBackend === backend.name,
    })
    if (replaced !== undefined) violations.push({ field: 'data', message: replaced })
  }
  return violations
}

/** A CaContext whose secret reads see `data` for one Secret: a proposed change, not yet stored. */
function withProposedSecret(
  ctx: CaContext,
  mesh: string,
  name: string,
  data: Uint8Array
): CaContext {
  const secrets: SecretAccess = {
    get: async (m, n): Promise<StoredSecret | undefined> => {
      if (m === mesh && n === name) return { data, version: 'proposed' }
      return ctx.secrets.get(m, n)
    },
    create: ctx.secrets.create.bind(ctx.secrets),
    update: ctx.secrets.update.bind(ctx.secrets),
  }
  return { ...ctx, secrets }
}
