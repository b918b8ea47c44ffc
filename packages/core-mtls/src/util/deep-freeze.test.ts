import { describe, expect, it } from 'vitest'
import { deepFreeze } from './deep-freeze.ts'

describe('deepFreeze', () => {
  it('freezes every object and array reachable from the value, and returns it', () => {
    const value = { a: { b: [1, { c: 'x' }], d: null }, e: [[{ f: true }]] }
    expect(deepFreeze(value)).toBe(value)
    const reached = [value, value.a, value.a.b, value.a.b[1], value.e, value.e[0], value.e[0]?.[0]]
    for (const node of reached) expect(Object.isFrozen(node)).toBe(true)
    expect(() => {
      ;(value.a.b[1] as { c: string }).c = 'y'
    }).toThrow(TypeError)
  })

  it('leaves primitives alone and ends on cycles', () => {
    expect(deepFreeze('text')).toBe('text')
    expect(deepFreeze(null)).toBe(null)
    const cyclic: { self?: unknown; list: unknown[] } = { list: [] }
    cyclic.self = cyclic
    cyclic.list.push(cyclic)
    expect(Object.isFrozen(deepFreeze(cyclic))).toBe(true)
    expect(Object.isFrozen(cyclic.list)).toBe(true)
  })

  it('freezes a property set on an array, as well as its items', () => {
    const list = Object.assign([{ n: 1 }], { extra: { n: 2 } })
    deepFreeze({ list })
    expect(Object.isFrozen(list[0])).toBe(true)
    expect(Object.isFrozen(list.extra)).toBe(true)
  })

  it('freezes own properties only, not what an object inherits', () => {
    const inherited = { shared: { n: 1 } }
    const value = Object.create(inherited) as { own: { n: number }; shared: { n: number } }
    value.own = { n: 2 }
    deepFreeze(value)
    expect(Object.isFrozen(value.own)).toBe(true)
    expect(Object.isFrozen(inherited.shared)).toBe(false)
  })
})
