import type { JsonObject } from './types.ts'

export const SERVICE_TAG = 'kuma.io/service'

export type Tags = Readonly<Record<string, string>>

export interface DataplaneInbound {
  readonly port?: number
  readonly servicePort?: number
  readonly address?: string
  readonly tags: Tags
  /** Fields meshca does not interpret (health, serviceProbe, …), kept untouched. */
  readonly other: JsonObject
}

export interface DataplaneGateway {
  readonly tags: Tags
  readonly type?: 'DELEGATED' | 'BUILTIN'
  readonly other: JsonObject
}

export interface DataplaneSpec {
  readonly networking: {
    readonly address: string
    readonly advertisedAddress?: string
    readonly inbound: readonly DataplaneInbound[]
    readonly gateway?: DataplaneGateway
    /** outbound, transparentProxying, admin, … kept untouched. */
    readonly other: JsonObject
  }
  readonly other: JsonObject
}

/** Kuma's `TagSet()`: the union of inbound and gateway tags, every value of each key. */
export function dataplaneTagSet(spec: DataplaneSpec): ReadonlyMap<string, readonly string[]> {
  const sets = new Map<string, Set<string>>()
  const add = (tags: Tags) => {
    for (const [key, value] of Object.entries(tags)) {
      let values = sets.get(key)
      if (!values) {
        values = new Set()
        sets.set(key, values)
      }
      values.add(value)
    }
  }
  for (const inbound of spec.networking.inbound) add(inbound.tags)
  if (spec.networking.gateway) add(spec.networking.gateway.tags)
  const result = new Map<string, readonly string[]>()
  for (const key of [...sets.keys()].sort()) result.set(key, [...(sets.get(key) ?? [])].sort())
  return result
}
