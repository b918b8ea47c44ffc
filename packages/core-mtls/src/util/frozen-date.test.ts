import { describe, expect, it } from 'vitest'
import { deepFreeze } from './deep-freeze.ts'
import { frozenDate } from './frozen-date.ts'

describe('frozenDate', () => {
  const at = Date.UTC(2026, 10, 29, 12, 30, 15, 250)

  it('is a Date at the same time, to every getter, JSON and instanceof', () => {
    const date = frozenDate(new Date(at))
    expect(date).toBeInstanceOf(Date)
    expect(date.getTime()).toBe(at)
    expect(date.toISOString()).toBe('2026-11-29T12:30:15.250Z')
    expect(JSON.stringify({ date })).toBe('{"date":"2026-11-29T12:30:15.250Z"}')
    expect(frozenDate(at).getTime()).toBe(at)
    expect(new Date(date).getTime()).toBe(at)
  })

  it('cannot be changed by any setter, and a copy of it can', () => {
    const date = frozenDate(at)
    const setters = Object.getOwnPropertyNames(Date.prototype).filter((name) =>
      name.startsWith('set')
    )
    expect(setters.length).toBeGreaterThanOrEqual(15)
    for (const name of setters) {
      const setter = (date as unknown as Record<string, (value: number) => number>)[name]
      expect(() => setter?.call(date, 0), name).toThrow(TypeError)
    }
    expect(date.getTime()).toBe(at)
    const copy = new Date(date)
    copy.setTime(0)
    expect(copy.getTime()).toBe(0)
    expect(Object.isFrozen(date)).toBe(true)
  })

  it('is what deepFreeze cannot give a plain Date', () => {
    const plain = deepFreeze({ at: new Date(at) })
    plain.at.setTime(0)
    expect(plain.at.getTime()).toBe(0)
  })
})
