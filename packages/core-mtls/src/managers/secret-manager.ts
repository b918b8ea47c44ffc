import type { SecretAccess, StoredSecret } from '../ca/ca-backend.ts'
import type { Violation } from '../errors.ts'
import { MeshcaError, validationError } from '../errors.ts'
import type { ListOptions, Store, StoredResource } from '../ports/store.ts'
import type { JsonObject, ResourceKey } from '../resources/types.ts'
import { concatBytes, fromBase64, toArrayBuffer, toBase64, utf8 } from '../util/bytes.ts'

/** AES-256: the raw key is 32 bytes. */
export const ENCRYPTION_KEY_BYTES = 32

const FORMAT_PREFIX = 'v1:'
/** 96 bits: the IV size GCM is defined for; longer ones are hashed down and gain nothing. */
const IV_BYTES = 12
const TAG_BYTES = 16

/**
 * What the SecretManager asks about the rest of the control plane, injected so that this module
 * does not import the MeshManager (which itself writes Secrets through this one).
 */
export interface SecretGuard {
  meshExists(mesh: string): Promise<boolean>
  /** The first CA backend of the mesh that reads this Secret, if any (spec §2.5). */
  usage(mesh: string, name: string): Promise<{ readonly backend: string } | undefined>
  /**
   * Violations the CA backends using this Secret would have with `data` instead of the stored
   * bytes (decision 10); empty when the change is safe. Field paths are the caller's to choose.
   */
  validateChange(mesh: string, name: string, data: Uint8Array): Promise<readonly Violation[]>
}

export interface SecretRecord extends StoredSecret {
  readonly mesh: string
  readonly name: string
  readonly creationTime: Date
  readonly modificationTime: Date
}

export interface SecretPage {
  /** Ordered by (mesh, name), as the store lists. */
  readonly items: readonly SecretRecord[]
  readonly total: number
  readonly next?: string
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

/**
 * Secrets as users manage them (the admin API): encrypted at rest (decision 13), written only in
 * an existing mesh (decision 15), not deleted while a CA backend uses them (spec §2.5), and not
 * changed in a way that breaks the CA using them (decision 10).
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
  /** Without a guard, nothing is checked beyond the store's own rules (tests, tools). */
  readonly guard?: SecretGuard
}

/** 32 random bytes: a fresh encryption key, for the embedded default's first start. */
export function generateEncryptionKey(crypto: Crypto = globalThis.crypto): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(ENCRYPTION_KEY_BYTES))
}

/** A non-extractable AES-256-GCM key from its raw bytes. */
export async function importEncryptionKey(
  raw: Uint8Array,
  crypto: Crypto = globalThis.crypto
): Promise<CryptoKey> {
  checkRawKey(raw)
  return crypto.subtle.importKey('raw', toArrayBuffer(raw), { name: 'AES-GCM' }, false, [
    'encrypt',
    'decrypt',
  ])
}

export function createSecretManager(options: SecretManagerOptions): SecretManager {
  const { store, crypto, guard } = options
  const loadKey = keyLoader(options.encryptionKey, crypto)

  async function seal(mesh: string, name: string, data: Uint8Array): Promise<JsonObject> {
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES))
    const sealed = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: associatedData(mesh, name), tagLength: TAG_BYTES * 8 },
      await loadKey(),
      toArrayBuffer(data)
    )
    return { encrypted: `${FORMAT_PREFIX}${toBase64(concatBytes([iv, new Uint8Array(sealed)]))}` }
  }

  async function open(resource: StoredResource): Promise<SecretRecord> {
    const { mesh, name } = resource
    const envelope = parseEnvelope(resource.spec)
    if (envelope === undefined) {
      throw new MeshcaError(
        'CORRUPTED',
        `${describeSecret(mesh, name)} is not in the encrypted format`
      )
    }
    let plain: ArrayBuffer
    try {
      plain = await crypto.subtle.decrypt(
        {
          name: 'AES-GCM',
          iv: toArrayBuffer(envelope.iv),
          additionalData: associatedData(mesh, name),
          tagLength: TAG_BYTES * 8,
        },
        await loadKey(),
        toArrayBuffer(envelope.sealed)
      )
    } catch (error) {
      throw new MeshcaError(
        'CORRUPTED',
        `${describeSecret(mesh, name)} cannot be decrypted: wrong encryption key or altered data`,
        { cause: error }
      )
    }
    return {
      mesh,
      name,
      data: new Uint8Array(plain),
      version: resource.version,
      creationTime: resource.creationTime,
      modificationTime: resource.modificationTime,
    }
  }

  const system: SystemSecretAccess = {
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

  async function requireMesh(mesh: string): Promise<void> {
    // An empty mesh is the store's INVALID to report, not a mesh that could be missing.
    if (guard === undefined || mesh === '') return
    if (!(await guard.meshExists(mesh))) {
      throw new MeshcaError('MESH_NOT_FOUND', 'Mesh is not found', {
        violations: [{ field: 'mesh', message: `mesh of name ${mesh} is not found` }],
      })
    }
  }

  /** Writes of a used Secret must leave its CA backend valid (decision 10). */
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
      // A Secret that a backend names but that is missing (deleted by the system) is as
      // sensitive to what is written back as an update is.
      await requireSafeChange(mesh, name, data)
      await system.create(mesh, name, data)
    },

    async update(mesh, name, data, expectedVersion) {
      await requireMesh(mesh)
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

/** Kuma's message, word for word (spec §2.5). */
function inUseMessage(mesh: string, name: string, backend: string): string {
  return `The secret "${name}" that you are trying to remove is currently in use in Mesh "${mesh}" in mTLS backend "${backend}". Please remove the reference from the "${backend}" backend before removing the secret.`
}

function secretKey(mesh: string, name: string): ResourceKey {
  return { type: 'Secret', mesh, name }
}

function describeSecret(mesh: string, name: string): string {
  return `Secret ${JSON.stringify(name)} of mesh ${JSON.stringify(mesh)}`
}

/**
 * Binds a ciphertext to its row: copied under another name or mesh, it no longer decrypts. JSON
 * keeps the encoding unambiguous whatever characters the names hold.
 */
function associatedData(mesh: string, name: string): ArrayBuffer {
  return toArrayBuffer(utf8(JSON.stringify(['meshca/secret/v1', mesh, name])))
}

interface Envelope {
  readonly iv: Uint8Array
  /** Ciphertext followed by the tag, as WebCrypto takes and gives it. */
  readonly sealed: Uint8Array
}

function parseEnvelope(spec: JsonObject): Envelope | undefined {
  const fields = Object.keys(spec)
  const text = spec.encrypted
  if (fields.length !== 1 || typeof text !== 'string' || !text.startsWith(FORMAT_PREFIX)) {
    return undefined
  }
  const bytes = fromBase64(text.slice(FORMAT_PREFIX.length))
  if (bytes === undefined || bytes.length < IV_BYTES + TAG_BYTES) return undefined
  return { iv: bytes.subarray(0, IV_BYTES), sealed: bytes.subarray(IV_BYTES) }
}

/** Checks the key now, so that a bad one fails at start-up, and imports raw bytes on first use. */
function keyLoader(source: CryptoKey | Uint8Array, crypto: Crypto): () => Promise<CryptoKey> {
  if (!(source instanceof Uint8Array)) {
    checkCryptoKey(source)
    const ready = Promise.resolve(source)
    return () => ready
  }
  checkRawKey(source)
  // Copied now: the caller may wipe its buffer once the manager exists.
  const raw = source.slice()
  let imported: Promise<CryptoKey> | undefined
  return () => {
    imported ??= importEncryptionKey(raw, crypto)
    return imported
  }
}

function checkRawKey(raw: Uint8Array): void {
  if (raw.length !== ENCRYPTION_KEY_BYTES) {
    throw new MeshcaError(
      'INVALID',
      `the secret encryption key must be ${ENCRYPTION_KEY_BYTES} bytes, not ${raw.length}`,
      { path: 'encryptionKey' }
    )
  }
}

function checkCryptoKey(cryptoKey: CryptoKey): void {
  const algorithm = cryptoKey.algorithm as Partial<AesKeyAlgorithm>
  const usable = cryptoKey.usages.includes('encrypt') && cryptoKey.usages.includes('decrypt')
  if (algorithm.name !== 'AES-GCM' || algorithm.length !== 256 || !usable) {
    throw new MeshcaError(
      'INVALID',
      'the secret encryption key must be an AES-GCM 256-bit key usable to encrypt and decrypt',
      { path: 'encryptionKey' }
    )
  }
}
