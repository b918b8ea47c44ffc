import { Param, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { sameParameters } from './announced-writes.ts'

describe('the two forms of a write', () => {
  it('take the same parameters when their placeholders and values match in order', () => {
    const a = sql.placeholder('a')
    const b = sql.placeholder('b')
    expect(sameParameters([a, b, 'x'], [sql.placeholder('a'), b, 'x'])).toBe(true)
    expect(sameParameters([new Param(a)], [a])).toBe(true)
    expect(sameParameters([a, b], [b, a])).toBe(false)
    expect(sameParameters([a], [a, 'x'])).toBe(false)
    expect(sameParameters(['x'], ['y'])).toBe(false)
  })
})
