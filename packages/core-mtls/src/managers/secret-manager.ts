import type { Violation } from '../errors.ts'
import { MeshcaError, validationError } from '../errors.ts'
import type { ListOptions, Store } from '../ports/store.ts'
import { type AtRestEncryption, createAtRestEncryption } from './at-rest-encryption.ts'
import {
  createSealedSecrets,
  type SecretRecord,
  type SystemSecretAccess,
} from './sealed-secrets.ts'
import { systemSecretViolations } from './system-secret-checks.ts'

/**
 * What the SecretManager asks about the rest of the control plane, injected so that this module
 * does not import the MeshManager (which itself writes Secrets through this one).
 */
export interface SecretGuard {
  meshExists(mesh: string): Promise<boolean>
  /**
   * The first CA backend of the mesh that reads this Secret, if any (docs/kuma-compatibility.md
   * §2.5).
   */
  usage(mesh: string, name: string): Promise<{ readonly backend: string } | undefined>
  /**
   * Violations the CA backends using this Secret would have with `data` instead of the stored
   * bytes (decision 10 of docs/decisions.md); empty when the change is safe. Field paths are the
   * caller's to choose.
   */
  validateChange(mesh: string, name: string, data: Uint8Array): Promise<readonly Violation[]>
}

export type { SecretRecord, SystemSecretAccess } from './sealed-secrets.ts'

export interface SecretPage {
  /** Ordered by (mesh, name), as the store lists. */
  readonly items: readonly SecretRecord[]
  readonly total: number
  readonly next?: string
}

/**
 * Secrets as users manage them (the admin API): encrypted at rest (decision 13 of
 * docs/decisions.md), written only in an existing mesh (decision 15 of docs/decisions.md), not
 * deleted while a CA backend uses them (docs/kuma-compatibility.md §2.5), and not changed in a way
 * that breaks the CA using them (decision 10 of docs/decisions.md).
 */
export interface SecretManager extends SystemSecretAccess {
  list(options?: ListOptions): Promise<SecretPage>
  /** The same Secrets without the guard; give this one to CA backends. */
  readonly system: SystemSecretAccess
}

export interface SecretManagerOptions {
  readonly store: Store
  /** An AES-GCM 256-bit CryptoKey allowed to encrypt and decrypt, or its 32 raw bytes. */
  readonly encryptionKey: CryptoKey | Uint8Array
  readonly crypto: Crypto
  /** The encryption made from `encryptionKey`, when the caller shares one with other managers. */
  readonly encryption?: AtRestEncryption
  /** Without a guard, nothing is checked beyond the store's own rules (tests, tools). */
  readonly guard?: SecretGuard
}

export function createSecretManager(options: SecretManagerOptions): SecretManager {
  const { store, crypto, guard } = options
  const encryption = options.encryption ?? createAtRestEncryption(options.encryptionKey, crypto)

  const sealed = createSealedSecrets(store, encryption)
  const { open, ...system } = sealed

  async function requireMesh(mesh: string): Promise<void> {
    // An empty mesh is the store's INVALID to report, not a mesh that could be missing.
    if (guard === undefined || mesh === '') return
    if (!(await guard.meshExists(mesh))) {
      throw new MeshcaError('MESH_NOT_FOUND', 'Mesh is not found', {
        violations: [{ field: 'mesh', message: `mesh of name ${mesh} is not found` }],
      })
    }
  }

  /**
   * Secrets the control plane reads by name must stay readable (token signing keys, revocations).
   */
  async function requireUsable(mesh: string, name: string, data: Uint8Array): Promise<void> {
    const violations = await systemSecretViolations(crypto, mesh, name, data)
    if (violations.length > 0) throw validationError(violations)
  }

  /** Writes of a used Secret must leave its CA backend valid (decision 10 of docs/decisions.md). */
  async function requireSafeChange(mesh: string, name: string, data: Uint8Array): Promise<void> {
    if (guard === undefined || (await guard.usage(mesh, name)) === undefined) return
    const violations = await guard.validateChange(mesh, name, data)
    if (violations.length > 0) throw validationError(violations)
  }

  return {
    system,
    get: system.get,

    async list(listOptions = {}) {
      const page = await store.list('Secret', listOptions)
      const items = await Promise.all(page.items.map(open))
      return page.next === undefined
        ? { items, total: page.total }
        : { items, total: page.total, next: page.next }
    },

    async create(mesh, name, data) {
      await requireMesh(mesh)
      await requireUsable(mesh, name, data)
      // A Secret that a backend names but that is missing (deleted by the system) is as
      // sensitive to what is written back as an update is.
      await requireSafeChange(mesh, name, data)
      await system.create(mesh, name, data)
    },

    async update(mesh, name, data, expectedVersion) {
      await requireMesh(mesh)
      await requireUsable(mesh, name, data)
      await requireSafeChange(mesh, name, data)
      await system.update(mesh, name, data, expectedVersion)
    },

    async delete(mesh, name, expectedVersion) {
      await requireMesh(mesh)
      // Kuma only logs a failing usage lookup and deletes anyway; an error here refuses instead,
      // since deleting a CA's key in use breaks every data plane of the mesh.
      const usage = guard === undefined || mesh === '' ? undefined : await guard.usage(mesh, name)
      if (usage !== undefined) {
        throw validationError([{ field: 'name', message: inUseMessage(mesh, name, usage.backend) }])
      }
      await system.delete(mesh, name, expectedVersion)
    },
  }
}

/** Kuma's message, word for word (docs/kuma-compatibility.md §2.5). */
function inUseMessage(mesh: string, name: string, backend: string): string {
  return `The secret "${name}" that you are trying to remove is currently in use in Mesh "${mesh}" in mTLS backend "${backend}". Please remove the reference from the "${backend}" backend before removing the secret.`
}
