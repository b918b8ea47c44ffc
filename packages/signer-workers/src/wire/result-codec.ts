import { ByteReader } from './byte-reader.ts'
import type { ByteWriter } from './byte-writer.ts'
import {
  REPLY_CA_FAILED,
  REPLY_CA_MISSING,
  REPLY_ISSUED,
  REPLY_KEYS,
  type WireErrorCode,
} from './protocol.ts'

/** A failure as it crosses threads: plain data, never a class instance. */
export interface WireFailure {
  readonly code: WireErrorCode
  readonly message: string
  readonly path: string | undefined
}

export type WireOutcome =
  | {
      readonly ok: true
      readonly certificate: Uint8Array
      readonly privateKey: Uint8Array | undefined
    }
  | { readonly ok: false; readonly failure: WireFailure }

export interface WireKeyPair {
  readonly spki: Uint8Array
  readonly pkcs8: Uint8Array
}

export type WorkerReply =
  | { readonly kind: 'issued'; readonly outcomes: WireOutcome[]; readonly elapsedMs: number }
  | { readonly kind: 'ca-missing' }
  | { readonly kind: 'ca-failed'; readonly failure: WireFailure }
  | { readonly kind: 'keys'; readonly keys: WireKeyPair[]; readonly elapsedMs: number }

export function writeFailure(writer: ByteWriter, failure: WireFailure): void {
  writer.text(failure.code)
  writer.text(failure.path ?? '')
  writer.text(failure.message)
}

function readFailure(reader: ByteReader): WireFailure {
  const code = reader.text() as WireErrorCode
  const path = reader.text()
  return { code, path: path === '' ? undefined : path, message: reader.text() }
}

/**
 * Decodes a worker's answer. Certificates and keys are copied out of the message so that a caller
 * keeping one certificate does not keep the whole batch's buffer alive.
 */
export function decodeReply(buffer: ArrayBuffer, count: number): WorkerReply {
  const reader = new ByteReader(buffer)
  const kind = reader.u8()
  switch (kind) {
    case REPLY_ISSUED: {
      const elapsedMs = reader.f64()
      const outcomes: WireOutcome[] = []
      for (let i = 0; i < count; i++) {
        if (reader.u8() === 1) {
          const certificate = reader.blockCopy()
          const key = reader.block()
          outcomes.push({
            ok: true,
            certificate,
            privateKey: key.length === 0 ? undefined : key.slice(),
          })
        } else {
          outcomes.push({ ok: false, failure: readFailure(reader) })
        }
      }
      return { kind: 'issued', outcomes, elapsedMs }
    }
    case REPLY_CA_MISSING:
      return { kind: 'ca-missing' }
    case REPLY_CA_FAILED:
      return { kind: 'ca-failed', failure: readFailure(reader) }
    case REPLY_KEYS: {
      const elapsedMs = reader.f64()
      const total = reader.u32()
      const keys: WireKeyPair[] = []
      for (let i = 0; i < total; i++) {
        keys.push({ spki: reader.blockCopy(), pkcs8: reader.blockCopy() })
      }
      return { kind: 'keys', keys, elapsedMs }
    }
    default:
      throw new RangeError(`unknown worker reply ${kind}`)
  }
}
