import { describe, expect, it } from 'vitest'
import { NOT_CACHED, RowCache } from './row-cache.ts'

describe('RowCache', () => {
  it('answers what was filled, including an absence, until the key is invalidated', () => {
    const cache = new RowCache<string>(1000)
    expect(cache.get('a')).toBe(NOT_CACHED)
    cache.fill('a', cache.generation(), 'row-a', 10)
    cache.fill('gone', cache.generation(), undefined, 10)
    expect(cache.get('a')).toBe('row-a')
    expect(cache.get('gone')).toBeUndefined()
    cache.invalidate('a')
    expect(cache.get('a')).toBe(NOT_CACHED)
    expect(cache.get('gone')).toBeUndefined()
  })

  it('drops a fill whose query overlapped a change of its key, and only of its key', () => {
    const cache = new RowCache<string>(1000)
    const before = cache.generation()
    // The change lands while the query runs: its row may be the one the change replaced.
    cache.invalidate('a')
    cache.fill('a', before, 'maybe-stale', 10)
    expect(cache.get('a')).toBe(NOT_CACHED)
    // A change to another key says nothing about this row.
    const other = cache.generation()
    cache.invalidate('b')
    cache.fill('c', other, 'row-c', 10)
    expect(cache.get('c')).toBe('row-c')
    // A change before the query started is in what it read.
    cache.fill('a', cache.generation(), 'row-a', 10)
    expect(cache.get('a')).toBe('row-a')
  })

  it('drops fills it can no longer judge once more keys changed than it remembers', () => {
    const cache = new RowCache<string>(1000)
    const before = cache.generation()
    cache.invalidate('slow')
    for (let index = 0; index < 5000; index++) cache.invalidate(`k${index}`)
    // "slow" was forgotten: its change may postdate the fill, so no fill from before it stands.
    cache.fill('slow', before, 'maybe-stale', 10)
    cache.fill('other', before, 'maybe-fine', 10)
    expect(cache.get('slow')).toBe(NOT_CACHED)
    expect(cache.get('other')).toBe(NOT_CACHED)
    cache.fill('other', cache.generation(), 'row', 10)
    expect(cache.get('other')).toBe('row')
  })

  it('drops a fill that overlapped a clear', () => {
    const cache = new RowCache<string>(1000)
    cache.fill('a', cache.generation(), 'row-a', 10)
    const before = cache.generation()
    cache.clear()
    cache.fill('b', before, 'row-b', 10)
    expect(cache.size).toBe(0)
    expect(cache.bytes).toBe(0)
  })

  it('evicts the least recently read rows to stay within its budget', () => {
    const cache = new RowCache<string>(30)
    for (const key of ['a', 'b', 'c']) cache.fill(key, cache.generation(), key, 10)
    cache.get('a')
    cache.fill('d', cache.generation(), 'd', 10)
    expect(cache.get('b')).toBe(NOT_CACHED)
    expect([cache.get('a'), cache.get('c'), cache.get('d')]).toEqual(['a', 'c', 'd'])
    expect(cache.bytes).toBe(30)
    // A refill of a cached key replaces it, not counts it twice.
    cache.fill('d', cache.generation(), 'd2', 5)
    expect(cache.bytes).toBe(25)
    expect(cache.get('d')).toBe('d2')
  })

  it('never keeps a row larger than its whole budget, and nothing with a budget of 0', () => {
    const cache = new RowCache<string>(30)
    cache.fill('a', cache.generation(), 'a', 10)
    cache.fill('huge', cache.generation(), 'huge', 31)
    expect(cache.get('huge')).toBe(NOT_CACHED)
    expect(cache.get('a')).toBe('a')
    const off = new RowCache<string>(0)
    off.fill('a', off.generation(), 'a', 0)
    expect(off.get('a')).toBe(NOT_CACHED)
  })

  it('answers a row only for its maximum age, counted from when its query started', () => {
    // An age of a minute: a loaded machine may pause this thread between the fill and the get.
    const cache = new RowCache<string>(1000, 60_000)
    const now = performance.now()
    cache.fill('fresh', cache.generation(), 'row', 10, now)
    cache.fill('old', cache.generation(), 'row', 10, now - 60_001)
    cache.fill('gone', cache.generation(), undefined, 10, now - 60_001)
    expect(cache.get('fresh')).toBe('row')
    expect(cache.get('old')).toBe(NOT_CACHED)
    expect(cache.get('gone')).toBe(NOT_CACHED)
    expect(cache.size).toBe(1)
    // Without a maximum age a row stays until something changes it.
    const forever = new RowCache<string>(1000)
    forever.fill('a', forever.generation(), 'row', 10, now - 1e9)
    expect(forever.get('a')).toBe('row')
  })

  it('answers and keeps nothing while paused, and takes no fill from before a resume', () => {
    const cache = new RowCache<string>(1000)
    cache.fill('a', cache.generation(), 'row-a', 10)
    const beforePause = cache.generation()
    cache.pause()
    expect(cache.get('a')).toBe(NOT_CACHED)
    const duringPause = cache.generation()
    cache.fill('b', duringPause, 'row-b', 10)
    expect(cache.get('b')).toBe(NOT_CACHED)
    cache.resume()
    cache.fill('c', beforePause, 'row-c', 10)
    cache.fill('d', duringPause, 'row-d', 10)
    expect([cache.get('a'), cache.get('c'), cache.get('d')]).toEqual([
      NOT_CACHED,
      NOT_CACHED,
      NOT_CACHED,
    ])
    cache.fill('e', cache.generation(), 'row-e', 10)
    expect(cache.get('e')).toBe('row-e')
  })
})
