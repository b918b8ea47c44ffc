import { describe, expect, it } from 'vitest'
import { LruMap } from './lru-map.ts'

describe('LruMap', () => {
  it('evicts the least recently used entries to stay within its weight', () => {
    const map = new LruMap<string, string>(30)
    for (const key of ['a', 'b', 'c']) map.set(key, key, 10)
    expect(map.get('a')).toBe('a')
    map.set('d', 'd', 10)
    expect(map.has('b')).toBe(false)
    expect([map.get('a'), map.get('c'), map.get('d')]).toEqual(['a', 'c', 'd'])
    expect(map.weight).toBe(30)
  })

  it('keeps the order right when the same key is read again and again, and after it is deleted', () => {
    const map = new LruMap<string, string>(30)
    for (const key of ['a', 'b', 'c']) map.set(key, key, 10)
    map.get('a')
    map.get('a')
    map.get('b')
    map.get('a')
    // Least recently used first: c, b, a.
    map.set('d', 'd', 10)
    expect(map.has('c')).toBe(false)
    map.delete('d')
    map.set('e', 'e', 10)
    map.get('b')
    map.set('f', 'f', 10)
    const kept = (...keys: string[]) => keys.filter((key) => map.has(key))
    // a was the least recently used of a, e, b.
    expect(kept('a', 'b', 'e', 'f')).toEqual(['b', 'e', 'f'])
    map.get('e')
    map.set('g', 'g', 10)
    expect(kept('b', 'e', 'f', 'g')).toEqual(['e', 'f', 'g'])
    // A write makes its key the newest: the key read just before must move again when read again.
    map.get('e')
    map.set('h', 'h', 10)
    map.get('e')
    map.set('i', 'i', 10)
    expect(kept('e', 'h', 'i')).toEqual(['e', 'h', 'i'])
  })

  it('counts a replaced entry once, and forgets deleted and cleared ones', () => {
    const map = new LruMap<string, string>(30)
    map.set('a', 'a1', 10)
    map.set('a', 'a2', 5)
    expect(map.get('a')).toBe('a2')
    expect(map.weight).toBe(5)
    map.delete('a')
    expect(map.has('a')).toBe(false)
    expect(map.weight).toBe(0)
    map.set('b', 'b', 1)
    map.clear()
    expect([map.size, map.weight]).toEqual([0, 0])
  })

  it('keeps a stored undefined apart from an absent key', () => {
    const map = new LruMap<string, string | undefined>(10)
    map.set('gone', undefined)
    expect(map.has('gone')).toBe(true)
    expect(map.has('other')).toBe(false)
  })

  it('never keeps an entry heavier than its whole budget, nor anything with a budget of 0', () => {
    const map = new LruMap<string, string>(30)
    map.set('a', 'a', 10)
    map.set('huge', 'huge', 31)
    expect(map.has('huge')).toBe(false)
    expect(map.get('a')).toBe('a')
    const off = new LruMap<string, string>(0)
    off.set('a', 'a', 0)
    expect(off.has('a')).toBe(false)
  })
})
