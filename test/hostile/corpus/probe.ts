/**
 * One request of the hostile corpus and what its answer must satisfy beyond the rules every answer
 * follows (no 5xx, an answer in time, Kuma's error body on 4xx, the process alive).
 */
import type { RawAnswer, RawBody, RawRequest } from '../../support/raw-http.ts'
import type { Tokens } from '../hostile-world.ts'
import type { CryptoMaterial } from './crypto-material.ts'
import type { Random } from './seeded-random.ts'

/** Who a probe acts as: a token of the world, or none. */
export type Who = keyof Tokens | 'anonymous'

export interface Expectation {
  /** The answer's status must be one of these. */
  readonly statuses?: readonly number[]
  /** The input is invalid: the answer must be a 4xx. */
  readonly refused?: boolean
  /** A further check of the answer: a problem, or `undefined`. */
  readonly verify?: (answer: RawAnswer) => string | undefined
}

export interface Probe {
  readonly family: string
  /** What is sent, for the failure report (the body is summarized, never printed whole). */
  readonly label: string
  readonly who: Who
  readonly request: RawRequest
  readonly expect: Expectation
}

/** What every generator draws from. */
export interface CorpusContext {
  readonly random: Random
  readonly tokens: Tokens
  readonly material: CryptoMaterial
  /** A resource name no other probe uses. */
  fresh(prefix: string): string
}

export function bytes(text: string | Buffer): RawBody {
  return { kind: 'bytes', data: typeof text === 'string' ? Buffer.from(text) : text }
}

export function jsonBody(value: unknown): RawBody {
  return bytes(JSON.stringify(value))
}

/** The request's headers with the probe's credentials. */
export function withCredentials(
  tokens: Tokens,
  who: Who,
  headers: Readonly<Record<string, string>> = {}
): Record<string, string> {
  return who === 'anonymous'
    ? { ...headers }
    : { ...headers, authorization: `Bearer ${tokens[who]}` }
}

/** A short description of a value for labels: its kind and length, the start of short texts. */
export function describe(value: unknown): string {
  if (typeof value === 'string') {
    const shown = JSON.stringify(value.length > 24 ? `${value.slice(0, 24)}…` : value)
    return value.length > 24 ? `${shown} (${value.length} chars)` : shown
  }
  const json = JSON.stringify(value) ?? String(value)
  return json.length > 40 ? `${json.slice(0, 40)}… (${json.length} chars of JSON)` : json
}
