import type { CaContext } from '../ca/ca-backend.ts'
import { type CaBackendRegistry, defaultCaBackends } from '../ca/registry.ts'
import { createIdentityIssuer, type IdentityIssuer } from '../issuance/identity-issuer.ts'
import {
  type Clock,
  type Logger,
  type Random,
  type ReadFile,
  silentLogger,
  systemClock,
  webRandom,
} from '../ports/runtime.ts'
import type { Signer } from '../ports/signer.ts'
import type { Store } from '../ports/store.ts'
import { createAtRestEncryption } from './at-rest-encryption.ts'
import { createMeshManager, type MeshManager } from './mesh-manager.ts'
import { createResourceManager, type ResourceManager } from './resource-manager.ts'
import { createSecretManager, type SecretManager } from './secret-manager.ts'

export interface MeshcaCoreOptions {
  readonly store: Store
  readonly signer: Signer
  /**
   * AES-256-GCM key for Secrets at rest: a CryptoKey or its 32 raw bytes (decision 13 of
   * docs/decisions.md).
   */
  readonly encryptionKey: CryptoKey | Uint8Array
  readonly crypto?: Crypto
  readonly clock?: Clock
  readonly random?: Random
  readonly logger?: Logger
  readonly readFile?: ReadFile
  readonly caBackends?: CaBackendRegistry
  readonly rotationJitter?: number
  readonly unsafeDelete?: boolean
}

/** The managers of a control plane, wired together; apps add transport, stores and signers. */
export interface MeshcaCore {
  readonly resources: ResourceManager
  readonly secrets: SecretManager
  readonly meshes: MeshManager
  readonly identities: IdentityIssuer
  readonly ctx: CaContext
}

export function createMeshcaCore(options: MeshcaCoreOptions): MeshcaCore {
  const crypto = options.crypto ?? globalThis.crypto
  const caBackends = options.caBackends ?? defaultCaBackends()
  const resources = createResourceManager(options.store)
  // The SecretManager's guard asks the MeshManager, which needs the SecretManager for CA
  // material: the guard is bound once both exist.
  let meshes: MeshManager | undefined
  const guardOf = () => {
    if (!meshes) throw new Error('mesh manager not ready')
    return meshes.secretGuard
  }
  const encryption = createAtRestEncryption(options.encryptionKey, crypto)
  const secrets = createSecretManager({
    store: options.store,
    encryptionKey: options.encryptionKey,
    crypto,
    encryption,
    guard: {
      meshExists: (mesh) => guardOf().meshExists(mesh),
      usage: (mesh, name) => guardOf().usage(mesh, name),
      validateChange: (mesh, name, data) => guardOf().validateChange(mesh, name, data),
    },
  })
  const ctx: CaContext = {
    crypto,
    clock: options.clock ?? systemClock,
    random: options.random ?? webRandom(crypto),
    logger: options.logger ?? silentLogger,
    secrets: secrets.system,
    encryption,
    ...(options.readFile ? { readFile: options.readFile } : {}),
  }
  meshes = createMeshManager({
    store: options.store,
    ctx,
    caBackends,
    resources,
    ...(options.unsafeDelete === undefined ? {} : { unsafeDelete: options.unsafeDelete }),
  })
  const identities = createIdentityIssuer({
    ctx,
    caBackends,
    signer: options.signer,
    ...(options.rotationJitter === undefined ? {} : { rotationJitter: options.rotationJitter }),
  })
  return { resources, secrets, meshes, identities, ctx }
}
