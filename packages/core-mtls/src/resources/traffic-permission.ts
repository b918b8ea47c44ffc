import type { JsonObject } from './types.ts'

export interface Selector {
  readonly match: Readonly<Record<string, string>>
}

export interface TrafficPermissionSpec {
  readonly sources: readonly Selector[]
  readonly destinations: readonly Selector[]
  readonly other: JsonObject
}
