import { defaultTrafficPermission } from '../authz/traffic-permission.ts'
import type { CaBackend, CaContext } from '../ca/ca-backend.ts'
import { keepStoredInlineKeys, sealInlineKeys } from '../ca/inline-keys.ts'
import { type CaBackendRegistry, defaultCaBackends } from '../ca/registry.ts'
import { isMeshcaError, MeshcaError, type Violation, validationError } from '../errors.ts'
import type { Store } from '../ports/store.ts'
import type { MeshSpec } from '../resources/mesh.ts'
import type { Resource } from '../resources/resource.ts'
import { ensureMeshCas } from './ca-reconcile.ts'
import { sealStoredInlineKeys } from './inline-key-migration.ts'
import { deleteMesh } from './mesh-deletion.ts'
import { createMeshSecretGuard } from './mesh-secret-guard.ts'
import { type MeshUpdateOptions, type MeshValidation, validateMesh } from './mesh-validation.ts'
import { createResourceManager, type ResourceManager } from './resource-manager.ts'
import type { SecretGuard } from './secret-manager.ts'

export interface MeshWriteResult {
  readonly mesh: Resource<'Mesh'>
  readonly warnings: readonly Violation[]
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

export function createMeshManager(options: MeshManagerOptions): MeshManager {
  const { store, ctx } = options
  const caBackends = options.caBackends ?? defaultCaBackends()
  const resources = options.resources ?? createResourceManager(store)
  const validation = { caBackends, resources, ctx }
  // A Mesh written straight into the store was never validated: an unknown type is named here.
  const ensureCas = (name: string, spec: MeshSpec) =>
    ensureMeshCas(caBackends, ctx, name, spec, managerFor)

  /** The Mesh as it is stored: inline private keys sealed (what loading a CA opens). */
  function sealed(mesh: Resource<'Mesh'>): Promise<Resource<'Mesh'>> {
    return ctx.encryption === undefined
      ? Promise.resolve(mesh)
      : sealInlineKeys(ctx.encryption, mesh)
  }

  return {
    get: (name) => resources.get('Mesh', '', name),
    validate: (mesh, previous, updateOptions) =>
      validateMesh(validation, mesh, previous, updateOptions),
    async create(sent) {
      const mesh = await keepStoredInlineKeys(ctx.encryption, sent, undefined)
      const { violations, warnings } = await validateMesh(validation, mesh)
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
      const { violations, warnings } = await validateMesh(validation, mesh, previous, updateOptions)
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
    delete: (name, expectedVersion) =>
      deleteMesh({ ...options, logger: ctx.logger }, name, expectedVersion),
    ensureCas,
    sealStoredInlineKeys: () =>
      ctx.encryption === undefined
        ? Promise.resolve(0)
        : sealStoredInlineKeys(store, ctx.encryption, ctx.logger),
    withStoredInlineKeys: (mesh, stored) => keepStoredInlineKeys(ctx.encryption, mesh, stored),
    secretGuard: createMeshSecretGuard({ store, ctx, caBackends, resources }),
  }
}

function managerFor(registry: CaBackendRegistry, type: string): CaBackend {
  const backend = registry.get(type)
  if (!backend) {
    throw new MeshcaError('INVALID', `CA manager for type ${type} does not exist`, {
      path: 'mtls.backends',
    })
  }
  return backend
}
