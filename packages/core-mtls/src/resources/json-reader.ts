/**
 * Reads untyped JSON (parsed YAML, a request body, a stored row) into typed specs, collecting a
 * violation with a field path for every value of the wrong JSON type instead of stopping at the
 * first. `null` counts as absent for typed fields, as it does for Kuma's protobuf JSON.
 */
import { joinPath, ViolationList } from '../validation.ts'
import type { JsonObject, JsonValue } from './types.ts'

/** Far beyond any Kuma resource (a Mesh nests about ten levels). */
export const MAX_JSON_DEPTH = 64

export type RawObject = Readonly<Record<string, unknown>>

/** `parent["key"]`, Kuma's `PathBuilder.Key` notation for map entries such as tags. */
export function keyPath(parent: string, key: string): string {
  return joinPath(parent, `[${JSON.stringify(key)}]`)
}

/** Kuma's `has invalid value. Allowed values: a, b` (zipkin `apiVersion`), reused for every enum. */
export function allowedValuesMessage(values: readonly string[]): string {
  return `has invalid value. Allowed values: ${values.length === 0 ? '(none)' : values.join(', ')}`
}

export function isRawObject(value: unknown): value is RawObject {
  return Object.prototype.toString.call(value) === '[object Object]'
}

export class JsonReader {
  readonly violations = new ViolationList()

  fail(path: string, message: string): void {
    this.violations.add(path, message)
  }

  throwIfAny(): void {
    this.violations.throwIfAny()
  }

  object(value: unknown, path: string): RawObject | undefined {
    if (value === undefined || value === null) return undefined
    if (isRawObject(value)) return value
    this.fail(path, 'must be an object')
    return undefined
  }

  array(value: unknown, path: string): readonly unknown[] | undefined {
    if (value === undefined || value === null) return undefined
    if (Array.isArray(value)) return value
    this.fail(path, 'must be an array')
    return undefined
  }

  string(value: unknown, path: string): string | undefined {
    if (value === undefined || value === null) return undefined
    if (typeof value === 'string') return value
    this.fail(path, 'must be a string')
    return undefined
  }

  /** Proto3 has no presence for strings: an empty one reads as absent. */
  nonEmptyString(value: unknown, path: string): string | undefined {
    const text = this.string(value, path)
    return text === '' ? undefined : text
  }

  number(value: unknown, path: string): number | undefined {
    if (value === undefined || value === null) return undefined
    if (typeof value === 'number' && Number.isFinite(value)) return value
    this.fail(path, 'must be a number')
    return undefined
  }

  boolean(value: unknown, path: string): boolean | undefined {
    if (value === undefined || value === null) return undefined
    if (typeof value === 'boolean') return value
    this.fail(path, 'must be a boolean')
    return undefined
  }

  integer(value: unknown, path: string): number | undefined {
    if (value === undefined || value === null) return undefined
    if (typeof value === 'number' && Number.isSafeInteger(value)) return value
    this.fail(path, 'must be an integer')
    return undefined
  }

  stringArray(value: unknown, path: string): string[] | undefined {
    const items = this.array(value, path)
    if (items === undefined) return undefined
    const out: string[] = []
    items.forEach((item, i) => {
      const text = this.string(item, `${path}[${i}]`)
      if (text !== undefined) out.push(text)
    })
    return out
  }

  /** A `map<string, string>` such as tags or a selector's `match`. */
  stringMap(value: unknown, path: string): Record<string, string> | undefined {
    const obj = this.object(value, path)
    if (obj === undefined) return undefined
    const out: [string, string][] = []
    for (const [key, item] of Object.entries(obj)) {
      if (typeof item === 'string') out.push([key, item])
      else this.fail(keyPath(path, key), 'must be a string')
    }
    return fromEntries(out)
  }

  /** Any JSON value, kept as it is (`conf`, unknown fields). */
  json(value: unknown, path: string, depth = 0): JsonValue | undefined {
    if (depth > MAX_JSON_DEPTH) {
      // Deep enough to be an attack, not a config; recursion further would overflow the stack.
      this.fail(path, `must not nest deeper than ${MAX_JSON_DEPTH} levels`)
      return undefined
    }
    if (value === null || typeof value === 'string' || typeof value === 'boolean') return value
    if (typeof value === 'number') {
      if (Number.isFinite(value)) return value
      this.fail(path, 'must be a finite number')
      return undefined
    }
    if (Array.isArray(value)) {
      const out: JsonValue[] = []
      value.forEach((item, i) => {
        const json = this.json(item, `${path}[${i}]`, depth + 1)
        if (json !== undefined) out.push(json)
      })
      return out
    }
    if (isRawObject(value)) return this.#entries(value, path, () => true, depth + 1)
    this.fail(path, 'must be a JSON value')
    return undefined
  }

  jsonObject(value: unknown, path: string): JsonObject | undefined {
    const obj = this.object(value, path)
    return obj === undefined ? undefined : this.#entries(obj, path, () => true)
  }

  /** The members of `obj` other than `known`, kept verbatim: a spec's `other`. */
  rest(obj: RawObject, known: readonly string[], path: string): JsonObject {
    return this.#entries(obj, path, (key) => !known.includes(key))
  }

  #entries(obj: RawObject, path: string, keep: (key: string) => boolean, depth = 0): JsonObject {
    const out: [string, JsonValue][] = []
    for (const [key, item] of Object.entries(obj)) {
      // `undefined` cannot come from JSON or YAML; dropping it matches JSON.stringify.
      if (!keep(key) || item === undefined) continue
      const json = this.json(item, joinPath(path, key), depth)
      if (json !== undefined) out.push([key, json])
    }
    return fromEntries(out)
  }
}

/** Unlike `out[key] = v`, keeps a `__proto__` key as data instead of changing the prototype. */
export function fromEntries<V>(entries: Iterable<readonly [string, V]>): Record<string, V> {
  return Object.fromEntries(entries) as Record<string, V>
}
