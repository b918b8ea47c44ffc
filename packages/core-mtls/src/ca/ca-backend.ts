import type { Violation } from '../errors.ts'
import type { AtRestEncryption } from '../managers/at-rest-encryption.ts'
import type { Clock, Logger, Random, ReadFile } from '../ports/runtime.ts'
import type { SigningCa } from '../ports/signer.ts'
import type { CaBackendSpec } from '../resources/mesh.ts'

export interface StoredSecret {
  readonly data: Uint8Array
  readonly version: string
}

/**
 * How a CA backend reads and writes the Secrets of a mesh. Implemented by the SecretManager (which
 * decrypts); validation of a proposed Secret update wraps it to answer with the proposed data.
 */
export interface SecretAccess {
  get(mesh: string, name: string): Promise<StoredSecret | undefined>
  /** Fails with ALREADY_EXISTS when another writer created it first. */
  create(mesh: string, name: string, data: Uint8Array): Promise<void>
  /** Fails with CONFLICT when `expectedVersion` is stale. */
  update(mesh: string, name: string, data: Uint8Array, expectedVersion: string): Promise<void>
}

export interface CaContext {
  readonly crypto: Crypto
  readonly clock: Clock
  readonly random: Random
  readonly logger: Logger
  readonly secrets: SecretAccess
  /** The `file` data source; absent where the host has no file system (then `file` is an error). */
  readonly readFile?: ReadFile
  /** Opens inline keys sealed at rest; absent, a sealed key cannot be loaded. */
  readonly encryption?: AtRestEncryption
}

/** CA material ready for issuance, loaded from wherever the backend keeps it. */
export interface LoadedCa {
  readonly backend: string
  /** The first certificate of the CA and its key: what signs data plane certificates. */
  readonly signing: SigningCa
  /**
   * DER of the CA certificates a data plane sends after its leaf: every certificate of the CA that
   * is not self-signed, the signing one first, up to and not including the root (decision 21 of
   * docs/decisions.md).
   */
  readonly intermediates: readonly Uint8Array[]
  /** PEM this backend contributes to the mesh's trust bundle (Kuma: the whole cert data, as is). */
  readonly trustBundlePem: string
  /** DER of every CA certificate of the backend (signing first), for expiry reporting. */
  readonly certificates: readonly Uint8Array[]
  /**
   * When the whole CA chain is valid: the latest NotBefore and the earliest NotAfter of its
   * certificates. Loading fails outside it; a data plane certificate never outlives it.
   */
  readonly validity: { readonly notBefore: Date; readonly notAfter: Date }
}

/**
 * Errors reject the Mesh; warnings are returned with the successful response (decision 5 of
 * docs/decisions.md).
 */
export interface BackendValidation {
  readonly violations: readonly Violation[]
  readonly warnings: readonly Violation[]
}

/**
 * A CA plugin. Violations are relative to the backend (`mtls.backends[i]`): `name`,
 * `conf.caCert.RSAbits`, `conf.cert[0]`, …; the caller roots them.
 */
export interface CaBackend {
  readonly type: string
  validate(ctx: CaContext, mesh: string, backend: CaBackendSpec): Promise<BackendValidation>
  /** Creates missing CA material (builtin); a no-op where the user provides it. Idempotent. */
  ensure(ctx: CaContext, mesh: string, backend: CaBackendSpec): Promise<void>
  /**
   * Names of the mesh's Secrets this backend reads (the delete guard of docs/kuma-compatibility.md
   * §2.5).
   */
  usedSecrets(mesh: string, backend: CaBackendSpec): string[]
  load(ctx: CaContext, mesh: string, backend: CaBackendSpec): Promise<LoadedCa>
}
