/**
 * Go's `time.ParseDuration`, which Kuma uses for the `validFor` of tokens (unlike resources, which use
 * Kuma's single-unit format in `duration.ts`): a signed sequence of decimal numbers, each with a unit
 * (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`), such as `300ms`, `1.5h` or `2h45m`. Errors use Go's text.
 */
import { MeshcaError } from '../errors.ts'

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5 micro sign
  μs: 1e-3, // U+03BC Greek mu
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
}

/** Go's int64 nanoseconds end near 292 years; longer durations are an error there too. */
const MAX_MS = 9_223_372_036_854

const PART = /^([0-9]*(?:\.[0-9]*)?)([^0-9.]*)/

/** Milliseconds of a Go duration; throws `INVALID` with Go's message when `text` is not one. */
export function parseGoDuration(text: string): number {
  const invalid = () => new MeshcaError('INVALID', `time: invalid duration ${goQuote(text)}`)
  let rest = text
  let sign = 1
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1
    rest = rest.slice(1)
  }
  if (rest === '0') return 0
  if (rest === '') throw invalid()
  let total = 0
  while (rest !== '') {
    const match = PART.exec(rest)
    const number = match?.[1] ?? ''
    const unit = match?.[2] ?? ''
    if (number === '' || number === '.') throw invalid()
    if (unit === '') {
      throw new MeshcaError('INVALID', `time: missing unit in duration ${goQuote(text)}`)
    }
    const scale = UNIT_MS[unit]
    if (scale === undefined) {
      throw new MeshcaError(
        'INVALID',
        `time: unknown unit ${goQuote(unit)} in duration ${goQuote(text)}`
      )
    }
    total += Number(number) * scale
    rest = rest.slice(number.length + unit.length)
  }
  if (total > MAX_MS) throw invalid()
  return sign * total
}

/** Go's `%q` for the strings a user types here (printable text). */
function goQuote(text: string): string {
  return JSON.stringify(text)
}
