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
