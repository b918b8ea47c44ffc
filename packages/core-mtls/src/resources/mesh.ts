import type { KeyType } from '../ca/key-types.ts'
import type { JsonObject } from './types.ts'

export const MTLS_MODES = ['STRICT', 'PERMISSIVE'] as const
export type MtlsMode = (typeof MTLS_MODES)[number]

/** Where CA material comes from (Kuma's `DataSource`). `inline` holds base64 text as written. */
export type DataSource =
  | { readonly secret: string }
  | { readonly inline: string }
  | { readonly inlineString: string }
  | { readonly file: string }

export interface DpCertSpec {
  readonly rotation?: { readonly expiration?: string }
  /** A proto Duration such as `10s`. */
  readonly requestTimeout?: string
  /** meshca extension (decision 16 of docs/decisions.md); RSA_2048 when absent, as in Kuma. */
  readonly keyType?: KeyType
}

export interface CaBackendSpec {
  readonly name: string
  readonly type: string
  readonly mode?: MtlsMode
  readonly dpCert?: DpCertSpec
  /** Plugin configuration, interpreted by the backend type (builtin, provided, …). */
  readonly conf?: JsonObject
  readonly rootChain?: { readonly requestTimeout?: string }
}

export interface MtlsSpec {
  /** Empty or absent: mTLS is off for the mesh. */
  readonly enabledBackend?: string
  readonly backends?: readonly CaBackendSpec[]
}

export interface MeshSpec {
  readonly mtls?: MtlsSpec
  /** Every other Mesh field (logging, tracing, metrics, routing, …), kept untouched. */
  readonly other: JsonObject
}

export function mtlsEnabled(spec: MeshSpec): boolean {
  return (spec.mtls?.enabledBackend ?? '') !== ''
}

export function enabledBackend(spec: MeshSpec): CaBackendSpec | undefined {
  const name = spec.mtls?.enabledBackend
  if (!name) return undefined
  return spec.mtls?.backends?.find((b) => b.name === name)
}

export function backendMode(backend: CaBackendSpec | undefined): MtlsMode {
  return backend?.mode ?? 'STRICT'
}

/** Builtin backend configuration (`conf` of a `builtin` backend). */
export interface BuiltinCaConfig {
  readonly caCert?: {
    readonly RSAbits?: number
    readonly expiration?: string
    /** meshca extension: the root's key family; RSA when absent. */
    readonly keyType?: BuiltinCaKeyType
  }
}

export const BUILTIN_CA_KEY_TYPES = ['RSA', 'ECDSA_P256', 'ECDSA_P384'] as const
export type BuiltinCaKeyType = (typeof BUILTIN_CA_KEY_TYPES)[number]

/** Provided backend configuration (`conf` of a `provided` backend). */
export interface ProvidedCaConfig {
  readonly cert?: DataSource
  readonly key?: DataSource
}
