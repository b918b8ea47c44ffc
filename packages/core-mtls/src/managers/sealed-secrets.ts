import type { SecretAccess, StoredSecret } from '../ca/ca-backend.ts'
import { MeshcaError } from '../errors.ts'
import type { Store, StoredResource } from '../ports/store.ts'
import type { JsonObject, ResourceKey } from '../resources/types.ts'
import type { AtRestEncryption } from './at-rest-encryption.ts'

export interface SecretRecord extends StoredSecret {
  readonly mesh: string
  readonly name: string
  readonly creationTime: Date
  readonly modificationTime: Date
}

/**
 * Secrets for the control plane's own writes: CA backends creating or repairing their material
 * and the MeshManager's cascade. These skip the guard, which protects meshes from users' edits:
 * a CA backend writes for a mesh that is not stored yet, and a cascade runs after the mesh is
 * gone.
 */
export interface SystemSecretAccess extends SecretAccess {
  get(mesh: string, name: string): Promise<SecretRecord | undefined>
  delete(mesh: string, name: string, expectedVersion?: string): Promise<void>
}

/** Secrets as the store holds them: each value sealed, bound to its mesh and name. */
export interface SealedSecrets extends SystemSecretAccess {
  /** The Secret a stored row holds; CORRUPTED when the row is not one this module wrote. */
  open(resource: StoredResource): Promise<SecretRecord>
}

/** A plain object of functions, as callers may spread it to replace one of them. */
export function createSealedSecrets(store: Store, encryption: AtRestEncryption): SealedSecrets {
  async function seal(mesh: string, name: string, data: Uint8Array): Promise<JsonObject> {
    return { encrypted: await encryption.seal(data, secretBinding(mesh, name)) }
  }

  async function open(resource: StoredResource): Promise<SecretRecord> {
    const { mesh, name } = resource
    const what = describeSecret(mesh, name)
    const text = resource.spec.encrypted
    if (Object.keys(resource.spec).length !== 1 || typeof text !== 'string') {
      throw new MeshcaError('CORRUPTED', `${what} is not in the encrypted format`)
    }
    return {
      mesh,
      name,
      data: await encryption.open(text, secretBinding(mesh, name), what),
      version: resource.version,
      creationTime: resource.creationTime,
      modificationTime: resource.modificationTime,
    }
  }

  return {
    open,
    async get(mesh, name) {
      const resource = await store.get(secretKey(mesh, name))
      return resource === undefined ? undefined : open(resource)
    },
    async create(mesh, name, data) {
      await store.create(secretKey(mesh, name), await seal(mesh, name, data))
    },
    async update(mesh, name, data, expectedVersion) {
      const spec = await seal(mesh, name, data)
      await store.update(secretKey(mesh, name), spec, expectedVersion)
    },
    async delete(mesh, name, expectedVersion) {
      await store.delete(secretKey(mesh, name), expectedVersion)
    },
  }
}

function secretKey(mesh: string, name: string): ResourceKey {
  return { type: 'Secret', mesh, name }
}

function describeSecret(mesh: string, name: string): string {
  return `Secret ${JSON.stringify(name)} of mesh ${JSON.stringify(mesh)}`
}

/** A ciphertext copied under another name or mesh no longer decrypts. */
function secretBinding(mesh: string, name: string): readonly string[] {
  return ['meshca/secret/v1', mesh, name]
}
