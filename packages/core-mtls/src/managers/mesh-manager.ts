import { defaultTrafficPermission } from '../authz/traffic-permission.ts'
import type { CaContext, SecretAccess, StoredSecret } from '../ca/ca-backend.ts'
import { keepStoredInlineKeys, sealInlineKeys } from '../ca/inline-keys.ts'
import { type CaBackendRegistry, defaultCaBackends } from '../ca/registry.ts'
import { isMeshcaError, MeshcaError, type Violation, validationError } from '../errors.ts'
import type { Store } from '../ports/store.ts'
import { type CaBackendSpec, type MeshSpec, mtlsEnabled } from '../resources/mesh.ts'
import type { Resource } from '../resources/resource.ts'
import { RESOURCE_TYPES, type ResourceType } from '../resources/types.ts'
import { validateResource } from '../resources/validate.ts'
import { jsonEqual } from '../util/json-equal.ts'
import { ViolationList } from '../validation.ts'
import { caChangeViolations, caRoot, secretReplacesTrustedRoot } from './ca-change-gate.ts'
import { sealStoredInlineKeys } from './inline-key-migration.ts'
import { createResourceManager, type ResourceManager } from './resource-manager.ts'
import type { SecretGuard } from './secret-manager.ts'

export interface MeshValidation {
  readonly violations: readonly Violation[]
  /** Accepted, but worth telling the user (decision 5). */
  readonly warnings: readonly Violation[]
}

export interface MeshWriteResult {
  readonly mesh: Resource<'Mesh'>
  readonly warnings: readonly Violation[]
}

export interface MeshUpdateOptions {
  /**
   * Disaster recovery only: switch `enabledBackend` even though online data planes do not trust the
   * new backend yet (decision 4). Their connections break until they receive the new bundle.
   */
  readonly allowUnsafeBackendSwitch?: boolean
}

export interface MeshManager {
  get(name: string): Promise<Resource<'Mesh'> | undefined>
  validate(
    mesh: Resource<'Mesh'>,
    previous?: Resource<'Mesh'>,
    options?: MeshUpdateOptions
  ): Promise<MeshValidation>
  create(mesh: Resource<'Mesh'>): Promise<MeshWriteResult>
  update(mesh: Resource<'Mesh'>, options?: MeshUpdateOptions): Promise<MeshWriteResult>
  /**
   * Deletes the Mesh and everything of it (Secrets, policies). With `expectedVersion`, only that
   * version: CONFLICT when it changed since the caller looked at it.
   */
  delete(name: string, expectedVersion?: string): Promise<void>
  /** Creates missing CA material for every backend; what a reconciler runs for meshes written elsewhere. */
  ensureCas(mesh: string, spec: MeshSpec): Promise<void>
  /**
   * Seals the inline private keys that stored Meshes hold in clear (written before keys were
   * sealed, or straight into the store); returns how many Meshes it rewrote.
   */
  sealStoredInlineKeys(): Promise<number>
  /**
   * `mesh` as an update of `stored` writes it: inline keys sent as `***`, or as the key stored under
   * the same backend, keep the stored value (see inline-keys.ts). INVALID for a `***` with no key.
   */
  withStoredInlineKeys(
    mesh: Resource<'Mesh'>,
    stored: Resource<'Mesh'> | undefined
  ): Promise<Resource<'Mesh'>>
  /** The hooks the SecretManager needs, bound to this manager. */
  readonly secretGuard: SecretGuard
}

export interface MeshManagerOptions {
  readonly store: Store
  /** Crypto, clock, randomness, logger, and the SecretManager as `secrets`. */
  readonly ctx: CaContext
  readonly caBackends?: CaBackendRegistry
  readonly resources?: ResourceManager
  /** Kuma's `store.unsafeDelete`: delete a mesh even while data planes are attached. */
  readonly unsafeDelete?: boolean
}

const MESH_SCOPED_TYPES = (Object.keys(RESOURCE_TYPES) as ResourceType[]).filter(
  (t) => RESOURCE_TYPES[t].scope === 'mesh'
)

export function createMeshManager(options: MeshManagerOptions): MeshManager {
  const { store, ctx } = options
  const caBackends = options.caBackends ?? defaultCaBackends()
  const resources = options.resources ?? createResourceManager(store)

  async function validateBackends(
    mesh: Resource<'Mesh'>,
    previous: Resource<'Mesh'> | undefined,
    context: CaContext,
    out: ViolationList,
    warnings: ViolationList
  ) {
    const backends = mesh.spec.mtls?.backends ?? []
    const before = new Map((previous?.spec.mtls?.backends ?? []).map((b) => [b.name, b]))
    for (const [i, backend] of backends.entries()) {
      const plugin = caBackends.get(backend.type)
      if (!plugin) {
        // Kuma stops at the first unknown type: later backends are not validated.
        out.add(`mtls.backends[${i}].type`, 'could not find installed plugin for this type')
        return
      }
      const result = await plugin.validate(context, mesh.name, backend)
      // A backend this update leaves as it was keeps the problems it had (a CA that expired since):
      // they are reported, not allowed to block the update, which may be the one that replaces it.
      const unchanged = jsonEqual(before.get(backend.name), backend)
      ;(unchanged ? warnings : out).addAll(`mtls.backends[${i}]`, result.violations)
      warnings.addAll(`mtls.backends[${i}]`, result.warnings)
    }
  }

  async function validate(
    mesh: Resource<'Mesh'>,
    previous?: Resource<'Mesh'>,
    updateOptions: MeshUpdateOptions = {},
    context: CaContext = ctx
  ): Promise<MeshValidation> {
    const violations = new ViolationList()
    const warnings = new ViolationList()
    violations.addAll('', validateResource(mesh))
    if (!violations.isEmpty) return { violations: violations.violations, warnings: [] }
    if (previous && !updateOptions.allowUnsafeBackendSwitch) {
      const gate = {
        insights: async () =>
          (await resources.listAll('DataplaneInsight', mesh.name)).map((i) => i.spec),
        root: (backend: CaBackendSpec) => caRoot(caBackends, context, mesh.name, backend),
      }
      const refused = await caChangeViolations(gate, mesh.spec, previous.spec)
      if (refused.length > 0) return { violations: refused, warnings: [] }
    }
    await validateBackends(mesh, previous, context, violations, warnings)
    return { violations: violations.violations, warnings: warnings.violations }
  }

  async function ensureCas(name: string, spec: MeshSpec): Promise<void> {
    for (const backend of spec.mtls?.backends ?? []) {
      const plugin = caBackends.get(backend.type)
      if (!plugin) {
        throw new MeshcaError('INVALID', `CA manager for type ${backend.type} does not exist`, {
          path: 'mtls.backends',
        })
      }
      await plugin.ensure(ctx, name, backend)
    }
  }

  async function deleteAllOfMesh(mesh: string): Promise<void> {
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

  /** A CaContext whose secret reads see `data` for one Secret: a proposed change, not yet stored. */
  function withProposedSecret(mesh: string, name: string, data: Uint8Array): CaContext {
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

  const secretGuard: SecretGuard = {
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
      const context = withProposedSecret(mesh, name, data)
      const violations: Violation[] = []
      for (const [i, backend] of (resource.spec.mtls?.backends ?? []).entries()) {
        const plugin = caBackends.get(backend.type)
        if (!plugin?.usedSecrets(mesh, backend).includes(name)) continue
        const result = await plugin.validate(context, mesh, backend)
        for (const v of result.violations) {
          violations.push({
            field: 'data',
            message: `the new value breaks mTLS backend "${backend.name}" of Mesh "${mesh}" (mtls.backends[${i}].${v.field}: ${v.message})`,
          })
        }
        if (result.violations.length === 0 && mtlsEnabled(resource.spec)) {
          const replaced = await secretReplacesTrustedRoot({
            insights: async () =>
              (await resources.listAll('DataplaneInsight', mesh)).map((i) => i.spec),
            before: () => caRoot(caBackends, ctx, mesh, backend),
            after: () => caRoot(caBackends, context, mesh, backend),
            backend: backend.name,
            enabled: resource.spec.mtls?.enabledBackend === backend.name,
          })
          if (replaced !== undefined) violations.push({ field: 'data', message: replaced })
        }
      }
      return violations
    },
  }

  /** The Mesh as it is stored: inline private keys sealed (what loading a CA opens). */
  function sealed(mesh: Resource<'Mesh'>): Promise<Resource<'Mesh'>> {
    return ctx.encryption === undefined
      ? Promise.resolve(mesh)
      : sealInlineKeys(ctx.encryption, mesh)
  }

  return {
    get: (name) => resources.get('Mesh', '', name),
    validate: (mesh, previous, updateOptions) => validate(mesh, previous, updateOptions),
    async create(sent) {
      const mesh = await keepStoredInlineKeys(ctx.encryption, sent, undefined)
      const { violations, warnings } = await validate(mesh)
      if (violations.length > 0) throw validationError(violations)
      await ensureCas(mesh.name, mesh.spec)
      const created = await resources.create(await sealed(mesh))
      const permission = defaultTrafficPermission(mesh.name)
      try {
        await resources.create(permission)
      } catch (error) {
        if (!isMeshcaError(error, 'ALREADY_EXISTS')) throw error
      }
      ctx.logger.log('info', 'mesh created', {
        mesh: mesh.name,
        mtls: mesh.spec.mtls?.enabledBackend ?? '',
      })
      return { mesh: created, warnings }
    },
    async update(sent, updateOptions = {}) {
      const previous = await resources.get('Mesh', '', sent.name)
      if (!previous) {
        throw new MeshcaError('NOT_FOUND', `Resource not found: type="Mesh" name="${sent.name}"`)
      }
      const mesh = await keepStoredInlineKeys(ctx.encryption, sent, previous)
      const { violations, warnings } = await validate(mesh, previous, updateOptions)
      if (violations.length > 0) throw validationError(violations)
      await ensureCas(mesh.name, mesh.spec)
      // The caller's version wins the race or loses with CONFLICT; without one, the version just read.
      const meta = mesh.meta ?? previous.meta
      const toStore = await sealed(mesh)
      const updated = await resources.update(meta ? { ...toStore, meta } : toStore)
      if (previous.spec.mtls?.enabledBackend !== mesh.spec.mtls?.enabledBackend) {
        ctx.logger.log('info', 'mesh CA switched', {
          mesh: mesh.name,
          from: previous.spec.mtls?.enabledBackend ?? '',
          to: mesh.spec.mtls?.enabledBackend ?? '',
          forced: updateOptions.allowUnsafeBackendSwitch === true,
        })
      }
      return { mesh: updated, warnings }
    },
    async delete(name, expectedVersion) {
      const mesh = await store.get({ type: 'Mesh', mesh: '', name })
      if (!mesh)
        throw new MeshcaError('NOT_FOUND', `Resource not found: type="Mesh" name="${name}"`)
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
      await deleteAllOfMesh(name)
      ctx.logger.log('info', 'mesh deleted', { mesh: name })
    },
    ensureCas,
    sealStoredInlineKeys: () =>
      ctx.encryption === undefined
        ? Promise.resolve(0)
        : sealStoredInlineKeys(store, ctx.encryption, ctx.logger),
    withStoredInlineKeys: (mesh, stored) => keepStoredInlineKeys(ctx.encryption, mesh, stored),
    secretGuard,
  }
}
