import type { JsonObject } from './types.ts'

/** Data plane counts by status, as in Kuma's `DataplaneStat`. */
export interface DataplaneStat {
  readonly total: number
  readonly online: number
  readonly offline: number
  readonly partiallyDegraded: number
}

export interface MeshInsightSpec {
  readonly dataplanes?: DataplaneStat
  readonly mTLS?: {
    readonly issuedBackends: Readonly<Record<string, DataplaneStat>>
    readonly supportedBackends: Readonly<Record<string, DataplaneStat>>
  }
  readonly other: JsonObject
}
