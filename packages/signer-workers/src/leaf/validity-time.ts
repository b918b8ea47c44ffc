import { TAG_GENERALIZED_TIME, TAG_UTC_TIME } from '../der/der-writer.ts'

/** Thrown for a date a certificate cannot carry; the worker reports it as INVALID. */
export class InvalidTimeError extends Error {
  override readonly name = 'InvalidTimeError'
}

/** 0000-01-01T00:00:00Z; `Date.UTC` would read the year 0 as 1900. */
const MIN_MS = -62_167_219_200_000
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

/** Whether a certificate can carry this instant (RFC 5280 times stop at the year 9999). */
export function isEncodableTime(ms: number): boolean {
  return Number.isFinite(ms) && ms >= MIN_MS && ms <= MAX_MS
}

function utcYear(ms: number): number {
  return new Date(ms).getUTCFullYear()
}

/**
 * Size of the DER Time for an instant: RFC 5280 §4.1.2.5 wants UTCTime for the years 1950 to 2049
 * and GeneralizedTime outside that range, both to the second with a `Z`.
 */
export function timeSize(ms: number): number {
  for (const entry of recent) if (entry.ms === ms) return entry.bytes.length
  const year = utcYear(ms)
  return year >= 1950 && year <= 2049 ? 15 : 17
}

function two(target: Uint8Array, offset: number, value: number): void {
  target[offset] = 0x30 + Math.floor(value / 10)
  target[offset + 1] = 0x30 + (value % 10)
}

// Requests of one batch usually share their instants: the last encodings are kept.
const recent: { ms: number; bytes: Uint8Array }[] = [
  { ms: Number.NaN, bytes: new Uint8Array(0) },
  { ms: Number.NaN, bytes: new Uint8Array(0) },
]
let recentNext = 0

/** Writes the Time TLV at `offset` and returns the offset after it. Milliseconds are dropped. */
export function writeTime(target: Uint8Array, offset: number, ms: number): number {
  for (const entry of recent) {
    if (entry.ms === ms) {
      target.set(entry.bytes, offset)
      return offset + entry.bytes.length
    }
  }
  const end = encodeTime(target, offset, ms)
  const entry = recent[recentNext] as { ms: number; bytes: Uint8Array }
  entry.ms = ms
  entry.bytes = target.slice(offset, end)
  recentNext = (recentNext + 1) % recent.length
  return end
}

function encodeTime(target: Uint8Array, offset: number, ms: number): number {
  if (!isEncodableTime(ms)) {
    throw new InvalidTimeError('validity dates must lie between the years 0 and 9999')
  }
  const date = new Date(ms)
  const year = date.getUTCFullYear()
  let cursor = offset
  if (year >= 1950 && year <= 2049) {
    target[cursor++] = TAG_UTC_TIME
    target[cursor++] = 13
    two(target, cursor, year % 100)
    cursor += 2
  } else {
    target[cursor++] = TAG_GENERALIZED_TIME
    target[cursor++] = 15
    two(target, cursor, Math.floor(year / 100))
    two(target, cursor + 2, year % 100)
    cursor += 4
  }
  two(target, cursor, date.getUTCMonth() + 1)
  two(target, cursor + 2, date.getUTCDate())
  two(target, cursor + 4, date.getUTCHours())
  two(target, cursor + 6, date.getUTCMinutes())
  two(target, cursor + 8, date.getUTCSeconds())
  target[cursor + 10] = 0x5a
  return cursor + 11
}
