import { defaultTrafficPermission } from '../authz/traffic-permission.ts'
import type { CaContext, SecretAccess, StoredSecret } from '../ca/ca-backend.ts'
import { keepStoredInlineKeys, sealInlineKeys } from '../ca/inline-keys.ts'
import { type CaBackendRegistry, defaultCaBackends } from '../ca/registry.ts'
import { isMeshcaError, MeshcaError, type Violation, validationError } from '../errors.ts'
import type { Store } from '../ports/store.ts'
import { specToJson } from '../resources/codec.ts'
import { type CaBackendSpec, type MeshSpec, mtlsEnabled } from '../resources/mesh.ts'
import type { Resource } from '../resources/resource.ts'
import { RESOURCE_TYPES, type ResourceType } from '../resources/types.ts'
import { validateResource } from '../resources/validate.ts'
import { jsonEqual } from '../util/json-equal.ts'
import { ViolationList } from '../validation.ts'
import {
  caChangeViolations,
  inPlaceReplacementMessage,
  isOnline,
  sameTrustAnchor,
  trusting,
} from './ca-change-gate.ts'
import { createResourceManager, decodeStored, type ResourceManager } from './resource-manager.ts'
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

  /** The root data planes would have to trust for `backend`: the last of its CA certificates. */
  async function rootOf(
    context: CaContext,
    mesh: string,
    backend: CaBackendSpec
  ): Promise<Uint8Array | undefined> {
    try {
      return (await caBackends.get(backend.type)?.load(context, mesh, backend))?.certificates.at(-1)
    } catch (error) {
      if (isMeshcaError(error, 'CA_UNAVAILABLE')) return undefined
      throw error
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
        root: (backend: CaBackendSpec) => rootOf(context, mesh.name, backend),
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
          const replaced = await replacesTrustedRoot(context, mesh, resource.spec, backend)
          if (replaced !== undefined) violations.push({ field: 'data', message: replaced })
        }
      }
      return violations
    },
  }

  /**
   * Why a Secret change that gives a backend data planes trust another root is refused while they
   * are online (the Secret twin of replacing the backend in place), or `undefined`.
   */
  async function replacesTrustedRoot(
    proposed: CaContext,
    mesh: string,
    spec: MeshSpec,
    backend: CaBackendSpec
  ): Promise<string | undefined> {
    const insights = await resources.listAll('DataplaneInsight', mesh)
    const count = trusting(insights.map((i) => i.spec).filter(isOnline), backend.name)
    if (count === 0) return undefined
    const [before, after] = await Promise.all([
      rootOf(ctx, mesh, backend),
      rootOf(proposed, mesh, backend),
    ])
    if (before === undefined || after === undefined || sameTrustAnchor(before, after))
      return undefined
    return inPlaceReplacementMessage(
      backend.name,
      spec.mtls?.enabledBackend === backend.name,
      count
    )
  }

  /** The Mesh as it is stored: inline private keys sealed (what loading a CA opens). */
  function sealed(mesh: Resource<'Mesh'>): Promise<Resource<'Mesh'>> {
    return ctx.encryption === undefined
      ? Promise.resolve(mesh)
      : sealInlineKeys(ctx.encryption, mesh)
  }

  /**
   * A migration of stored rows, one at a time, that never fails: a row that does not decode or
   * write (corrupt, written by other means, changed meanwhile) is logged and left as it is. Rows
   * are written as they were, keys sealed, without admission: only the keys change.
   */
  async function sealStoredInlineKeys(): Promise<number> {
    let rewritten = 0
    let offset: string | undefined
    do {
      const page = await store.list('Mesh', {
        size: 100,
        ...(offset === undefined ? {} : { offset }),
      })
      for (const row of page.items) {
        try {
          const stored = decodeStored('Mesh', row)
          const mesh = await sealed(stored)
          if (mesh === stored) continue
          await store.update(
            { type: 'Mesh', mesh: '', name: row.name },
            specToJson('Mesh', mesh.spec),
            row.version
          )
          rewritten++
        } catch (error) {
          ctx.logger.log('warn', 'inline CA keys of a Mesh not sealed', {
            mesh: row.name,
            error: error instanceof Error ? error.message : String(error),
          })
        }
      }
      offset = page.next
    } while (offset !== undefined)
    return rewritten
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
    sealStoredInlineKeys,
    withStoredInlineKeys: (mesh, stored) => keepStoredInlineKeys(ctx.encryption, mesh, stored),
    secretGuard,
  }
}
