import { describe, expect, it } from 'vitest'
import { formatKumaDuration, isKumaDuration, parseKumaDuration } from './duration.ts'
import { isMeshcaError } from './errors.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR

describe('parseKumaDuration', () => {
  it.each([
    ['1d', DAY],
    ['10y', 10 * 365 * DAY],
    ['30d', 30 * DAY],
    ['1h', HOUR],
    ['10s', 10_000],
    ['2y', 2 * 365 * DAY],
    ['1w', 7 * DAY],
    ['5m', 300_000],
    ['250ms', 250],
    ['0', 0],
    ['0s', 0],
    ['007h', 7 * HOUR],
  ])('accepts %s', (text, ms) => {
    expect(parseKumaDuration(text)).toBe(ms)
    expect(isKumaDuration(text)).toBe(true)
  })

  it.each([
    '1h30m',
    '2e',
    '1.5h',
    '-1h',
    '',
    '+1h',
    ' 1h',
    '1h ',
    '1H',
    'h',
    '1us',
    '1ns',
    '1',
    '00',
    '1 d',
    '99999999999999999999y',
  ])('rejects %j with Kuma message', (text) => {
    expect(isKumaDuration(text)).toBe(false)
    let caught: unknown
    try {
      parseKumaDuration(text)
    } catch (error) {
      caught = error
    }
    expect(isMeshcaError(caught, 'INVALID')).toBe(true)
    expect((caught as Error).message).toBe(`not a valid duration string: "${text}"`)
  })

  it('quotes like Go %q', () => {
    expect(() => parseKumaDuration('a"b')).toThrow('not a valid duration string: "a\\"b"')
  })
})

describe('formatKumaDuration', () => {
  it.each([
    [0, '0'],
    [DAY, '1d'],
    [7 * DAY, '1w'],
    [14 * DAY, '2w'],
    [30 * DAY, '30d'],
    [365 * DAY, '1y'],
    [10 * 365 * DAY, '10y'],
    [HOUR, '1h'],
    [90 * 60_000, '90m'],
    [10_000, '10s'],
    [1500, '1500ms'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatKumaDuration(ms)).toBe(text)
    expect(parseKumaDuration(text)).toBe(ms)
  })

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects %d', (ms) => {
    expect(() => formatKumaDuration(ms)).toThrow(/not a whole, non-negative number/)
  })
})
