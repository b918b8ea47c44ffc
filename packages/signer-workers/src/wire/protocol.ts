/**
 * What crosses the thread boundary. Tasks are plain objects whose payloads are ArrayBuffers in the
 * transfer list; every answer is a single ArrayBuffer that the worker moves back (piscina's `move()`
 * only transfers a top-level value), its first byte saying what it holds.
 */
import type { LeafKeyFamily } from '../leaf/key-family.ts'

/** Key types in wire order; the pool checks at compile time that this is core's `KeyType`. */
export const WIRE_KEY_TYPES = [
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'ECDSA_P256',
  'ECDSA_P384',
  'ED25519',
] as const

export type WireKeyType = (typeof WIRE_KEY_TYPES)[number]

/** CA material, sent with a task only when the worker does not hold it yet. */
export interface WireCaMaterial {
  readonly certificate: ArrayBuffer
  readonly privateKey: ArrayBuffer
  /**
   * Each key family's fixed leaf extensions, encoded by core in the pool's thread; absent when core
   * could not read the certificate (the worker then reports why).
   */
  readonly fixedExtensions: Readonly<Record<LeafKeyFamily, ArrayBuffer>> | undefined
}

export interface IssueTask {
  readonly kind: 'issue'
  readonly caId: string
  readonly ca: WireCaMaterial | undefined
  /** `count` requests encoded by `encodeLeafRequests`. */
  readonly requests: ArrayBuffer
  readonly count: number
}

export interface GenerateTask {
  readonly kind: 'generate'
  readonly keyType: WireKeyType
  readonly count: number
}

export type WorkerTask = IssueTask | GenerateTask

/** First byte of a worker's answer. ISSUED and KEYS continue with the batch's f64 milliseconds. */
export const REPLY_ISSUED = 0
/** The worker does not hold this CA (new, evicted, or a fresh replacement thread): send it. */
export const REPLY_CA_MISSING = 1
export const REPLY_CA_FAILED = 2
export const REPLY_KEYS = 3

/** Subject key markers in an encoded request: 0 = SPKI follows, n = generate WIRE_KEY_TYPES[n-1]. */
export const SUBJECT_SPKI = 0

/** Error codes a worker reports; a subset of core's ErrorCode, checked by the pool at compile time. */
export type WireErrorCode = 'INVALID' | 'CRYPTO' | 'CA_UNAVAILABLE' | 'INTERNAL'
