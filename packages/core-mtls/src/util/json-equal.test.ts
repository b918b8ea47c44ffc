import { describe, expect, it } from 'vitest'
import { jsonEqual } from './json-equal.ts'

describe('jsonEqual', () => {
  it('compares members by name, arrays by position', () => {
    expect(
      jsonEqual({ a: 1, b: [1, { c: 'x', d: null }] }, { b: [1, { d: null, c: 'x' }], a: 1 })
    ).toBe(true)
    expect(jsonEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false)
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false)
    expect(jsonEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true)
    expect(jsonEqual({ a: null }, { a: undefined })).toBe(false)
    expect(jsonEqual([], {})).toBe(false)
    expect(jsonEqual('1', 1)).toBe(false)
    expect(jsonEqual(undefined, undefined)).toBe(true)
  })
})
