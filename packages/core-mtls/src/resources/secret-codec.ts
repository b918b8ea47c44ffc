/** Secret spec ↔ JSON: the payload is raw bytes in memory and base64 `data` in every JSON form. */
import { fromBase64, toBase64 } from '../util/bytes.ts'
import { joinPath } from '../validation.ts'
import type { JsonReader } from './json-reader.ts'
import type { SecretSpec } from './secret.ts'
import type { JsonObject } from './types.ts'

export const INVALID_BASE64_MESSAGE = 'must be valid base64'

export function secretSpecFromJson(json: unknown, path: string, reader: JsonReader): SecretSpec {
  const obj = reader.object(json, path) ?? {}
  return { data: base64FromJson(obj.data, joinPath(path, 'data'), reader) }
}

/** Absent data reads as empty bytes, which validation then rejects with Kuma's `cannot be empty`. */
function base64FromJson(value: unknown, path: string, reader: JsonReader): Uint8Array {
  const text = reader.string(value, path)
  if (text === undefined) return new Uint8Array()
  const bytes = fromBase64(text)
  if (bytes === undefined) {
    reader.fail(path, INVALID_BASE64_MESSAGE)
    return new Uint8Array()
  }
  return bytes
}

export function secretSpecToJson(spec: SecretSpec): JsonObject {
  return { data: toBase64(spec.data) }
}
