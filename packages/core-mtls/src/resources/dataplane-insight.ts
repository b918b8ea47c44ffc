import type { JsonObject } from './types.ts'

/** `DataplaneInsight.mTLS` as Kuma defines it. Times are RFC 3339 strings in JSON. */
export interface DataplaneMtlsInsight {
  readonly certificateExpirationTime?: string
  readonly lastCertificateRegeneration?: string
  readonly certificateRegenerations?: number
  readonly issuedBackend?: string
  readonly supportedBackends?: readonly string[]
}

export interface DataplaneInsightSpec {
  readonly subscriptions: readonly JsonObject[]
  readonly mTLS?: DataplaneMtlsInsight
  readonly other: JsonObject
}
