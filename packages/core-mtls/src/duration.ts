/**
 * Kuma's own duration syntax (`ParseDuration` in `mesh_helpers.go`), used by
 * `dpCert.rotation.expiration` and the builtin CA's `caCert.expiration`. It is deliberately not Go's
 * or ISO's: one unit only, no sign, no decimals. Proto Durations (`requestTimeout`) are a different
 * format and do not go through here.
 */
import { MeshcaError } from './errors.ts'

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const WEEK = 7 * DAY
/** Kuma's year is 365 days, never a calendar year. */
const YEAR = 365 * DAY

const UNIT_MS = { y: YEAR, w: WEEK, d: DAY, h: HOUR, m: MINUTE, s: SECOND, ms: 1 } as const
type Unit = keyof typeof UNIT_MS

/** Largest first, so that formatting picks the coarsest exact unit. */
const UNITS_DESCENDING: readonly Unit[] = ['y', 'w', 'd', 'h', 'm', 's', 'ms']

const DURATION = /^([0-9]+)(y|w|d|h|m|s|ms)$/

/**
 * Milliseconds of a Kuma duration such as `1d`, `10y` or `0`. Throws `INVALID` with Kuma's message
 * otherwise. Unlike Kuma (whose int64 arithmetic silently overflows) an amount that does not fit a
 * safe integer of milliseconds is rejected.
 */
export function parseKumaDuration(text: string): number {
  const ms = kumaDurationMs(text)
  if (ms === undefined) {
    throw new MeshcaError('INVALID', `not a valid duration string: ${JSON.stringify(text)}`)
  }
  return ms
}

export function isKumaDuration(text: string): boolean {
  return kumaDurationMs(text) !== undefined
}

/** 1,000 years: any longer lifetime is a typo, and very long ones do not fit in X.509. */
export const MAX_DURATION_MS = 1000 * 365 * 24 * 3600 * 1000

function kumaDurationMs(text: string): number | undefined {
  if (text === '0') return 0
  const match = DURATION.exec(text)
  if (!match) return undefined
  const ms = Number(match[1]) * UNIT_MS[match[2] as Unit]
  // Past about 8,000 years from now a certificate's NotAfter no longer fits X.509's
  // GeneralizedTime (year 9999): refuse such lifetimes as an invalid duration.
  return Number.isSafeInteger(ms) && ms <= MAX_DURATION_MS ? ms : undefined
}

/** The shortest Kuma spelling of `ms`: the largest unit that divides it exactly (`86400000` → `1d`). */
export function formatKumaDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new MeshcaError('INVALID', `not a whole, non-negative number of milliseconds: ${ms}`)
  }
  if (ms === 0) return '0'
  for (const unit of UNITS_DESCENDING) {
    const size = UNIT_MS[unit]
    if (ms % size === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}
