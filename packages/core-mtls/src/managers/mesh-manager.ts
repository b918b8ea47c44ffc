import { defaultTrafficPermission } from '../authz/traffic-permission.ts'
import type { CaContext, SecretAccess, StoredSecret } from '../ca/ca-backend.ts'
import { type CaBackendRegistry, defaultCaBackends } from '../ca/registry.ts'
import { sealInlineKeys } from '../ca/sealed-inline-keys.ts'
import { isMeshcaError, MeshcaError, type Violation, validationError } from '../errors.ts'
import type { Store } from '../ports/store.ts'
import type { DataplaneInsightSpec } from '../resources/dataplane-insight.ts'
import { type MeshSpec, mtlsEnabled } from '../resources/mesh.ts'
import type { Resource } from '../resources/resource.ts'
import { RESOURCE_TYPES, type ResourceType } from '../resources/types.ts'
import { validateResource } from '../resources/validate.ts'
import { ViolationList } from '../validation.ts'
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
  delete(name: string): Promise<void>
  /** Creates missing CA material for every backend; what a reconciler runs for meshes written elsewhere. */
  ensureCas(mesh: string, spec: MeshSpec): Promise<void>
  /**
   * Seals the inline private keys that stored Meshes hold in clear (written before keys were
   * sealed, or straight into the store); returns how many Meshes it rewrote.
   */
  sealStoredInlineKeys(): Promise<number>
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

/** A data plane counts as online while its newest subscription has not disconnected. */
export function isOnline(insight: DataplaneInsightSpec): boolean {
  const last = insight.subscriptions.at(-1)
  if (!last) return false
  return last.connectTime !== undefined && last.disconnectTime === undefined
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
      const unchanged = JSON.stringify(before.get(backend.name)) === JSON.stringify(backend)
      ;(unchanged ? warnings : out).addAll(`mtls.backends[${i}]`, result.violations)
      warnings.addAll(`mtls.backends[${i}]`, result.warnings)
    }
  }

  async function onlineHolders(mesh: string, backend: string): Promise<number> {
    const insights = await resources.listAll('DataplaneInsight', mesh)
    return insights.filter((i) => isOnline(i.spec) && i.spec.mTLS?.issuedBackend === backend).length
  }

  async function onlineDataplanes(mesh: string): Promise<number> {
    const insights = await resources.listAll('DataplaneInsight', mesh)
    return insights.filter((i) => isOnline(i.spec)).length
  }

  async function untrustingOnlineDataplanes(mesh: string, backend: string): Promise<number> {
    const insights = await resources.listAll('DataplaneInsight', mesh)
    return insights.filter(
      (i) => isOnline(i.spec) && !(i.spec.mTLS?.supportedBackends ?? []).includes(backend)
    ).length
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
    const newBackend = mesh.spec.mtls?.enabledBackend ?? ''
    const oldBackend = previous?.spec.mtls?.enabledBackend ?? ''
    if (
      previous &&
      mtlsEnabled(previous.spec) &&
      mtlsEnabled(mesh.spec) &&
      oldBackend !== newBackend &&
      !updateOptions.allowUnsafeBackendSwitch
    ) {
      const count = await untrustingOnlineDataplanes(mesh.name, newBackend)
      if (count > 0) {
        violations.add(
          'mtls.enabledBackend',
          `Changing CA when mTLS is enabled is forbidden while data plane proxies do not trust the new CA: ${count} online data plane ${count === 1 ? 'proxy does' : 'proxies do'} not list backend "${newBackend}" in their supported backends yet. Add the backend, wait until every data plane proxy supports it, then switch`
        )
        return { violations: violations.violations, warnings: [] }
      }
      const before = previous.spec.mtls?.backends?.find((b) => b.name === newBackend)
      const after = mesh.spec.mtls?.backends?.find((b) => b.name === newBackend)
      if (JSON.stringify(before) !== JSON.stringify(after)) {
        // Data planes trust a backend by name: what they support is the backend as it was, not
        // the CA this very update adds or puts under that name.
        const online = await onlineDataplanes(mesh.name)
        if (online > 0) {
          violations.add(
            'mtls.enabledBackend',
            `Changing CA when mTLS is enabled is forbidden in the same update that adds or changes backend "${newBackend}": ${online} online data plane ${online === 1 ? 'proxy does' : 'proxies do'} not trust it yet. Add or change the backend, wait until every data plane proxy supports it, then switch`
          )
          return { violations: violations.violations, warnings: [] }
        }
      }
    }
    if (
      previous &&
      mtlsEnabled(previous.spec) &&
      // Turning mTLS off is a mode change: every data plane goes back to plaintext together.
      mtlsEnabled(mesh.spec) &&
      !updateOptions.allowUnsafeBackendSwitch
    ) {
      const kept = new Set((mesh.spec.mtls?.backends ?? []).map((b) => b.name))
      for (const removed of previous.spec.mtls?.backends ?? []) {
        if (kept.has(removed.name)) continue
        const holders = await onlineHolders(mesh.name, removed.name)
        if (holders === 0) continue
        // Their peers would drop its root from their bundles while these certificates are in use.
        violations.add(
          'mtls.backends',
          `Removing backend "${removed.name}" is forbidden while data plane proxies hold certificates it issued: ${holders} online data plane ${holders === 1 ? 'proxy does' : 'proxies do'}. Wait until they are re-issued by the enabled backend, then remove it`
        )
      }
      if (!violations.isEmpty) return { violations: violations.violations, warnings: [] }
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

  async function sealStoredInlineKeys(): Promise<number> {
    let rewritten = 0
    for (const stored of await resources.listAll('Mesh', '')) {
      const mesh = await sealed(stored)
      if (mesh === stored) continue
      try {
        await resources.update(mesh)
        rewritten++
      } catch (error) {
        // Another writer got in between: its write sealed the keys, or the next start will.
        if (!isMeshcaError(error, 'CONFLICT') && !isMeshcaError(error, 'NOT_FOUND')) throw error
      }
    }
    return rewritten
  }

  return {
    get: (name) => resources.get('Mesh', '', name),
    validate: (mesh, previous, updateOptions) => validate(mesh, previous, updateOptions),
    async create(mesh) {
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
    async update(mesh, updateOptions = {}) {
      const previous = await resources.get('Mesh', '', mesh.name)
      if (!previous) {
        throw new MeshcaError('NOT_FOUND', `Resource not found: type="Mesh" name="${mesh.name}"`)
      }
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
    async delete(name) {
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
      await store.delete({ type: 'Mesh', mesh: '', name }, mesh.version)
      // Kuma deletes every Secret of the mesh (CA material, token keys) and its policies with it.
      await deleteAllOfMesh(name)
      ctx.logger.log('info', 'mesh deleted', { mesh: name })
    },
    ensureCas,
    sealStoredInlineKeys,
    secretGuard,
  }
}
