import { describe, expect, it } from 'vitest'
import { isMeshcaError } from '../errors.ts'
import { parseGoDuration } from './go-duration.ts'

describe('parseGoDuration', () => {
  it.each([
    ['0', 0],
    ['1h', 3_600_000],
    ['87600h', 87_600 * 3_600_000],
    ['2h45m', 2 * 3_600_000 + 45 * 60_000],
    ['1.5s', 1500],
    ['300ms', 300],
    ['-1m', -60_000],
    ['+10s', 10_000],
    ['1000000ns', 1],
    ['1500us', 1.5],
    ['.5h', 1_800_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseGoDuration(text)).toBe(ms)
  })

  it.each([
    ['', 'time: invalid duration ""'],
    ['abc', 'time: invalid duration "abc"'],
    ['1', 'time: missing unit in duration "1"'],
    ['1d', 'time: unknown unit "d" in duration "1d"'],
    ['10y', 'time: unknown unit "y" in duration "10y"'],
    ['.h', 'time: invalid duration ".h"'],
    ['3000000h', 'time: invalid duration "3000000h"'],
  ])('%j is refused with Go’s message', (text, message) => {
    let error: unknown
    try {
      parseGoDuration(text)
    } catch (e) {
      error = e
    }
    expect(isMeshcaError(error, 'INVALID')).toBe(true)
    expect((error as Error).message).toBe(message)
  })
})
