import { describe, expect, it } from 'vitest'
import { coalesceReads } from './coalesce-reads.ts'

/** A load whose queries the test finishes by hand, recording the value each query started with. */
function manualLoad() {
  const queries: { id: string; seen: number; finish: (error?: Error) => void }[] = []
  let value = 0
  const load = (id: string) =>
    new Promise<number>((resolve, reject) => {
      const seen = value
      queries.push({
        id,
        seen,
        finish: (error) => (error === undefined ? resolve(seen) : reject(error)),
      })
    })
  return {
    queries,
    load,
    write: () => {
      value += 1
    },
  }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0))

describe('coalesceReads', () => {
  it('serves reads that arrive during a query from one later query, never from the running one', async () => {
    const db = manualLoad()
    const read = coalesceReads((id: string) => id, db.load)
    const first = read('k')
    db.write() // committed after the first query started: the reads below must see it
    const later = [read('k'), read('k'), read('k')]
    expect(db.queries).toHaveLength(1)
    db.queries[0]?.finish()
    expect(await first).toBe(0)
    await tick()
    expect(db.queries).toHaveLength(2)
    db.queries[1]?.finish()
    expect(await Promise.all(later)).toEqual([1, 1, 1])
  })

  it('runs different keys independently and forgets idle keys', async () => {
    const db = manualLoad()
    const read = coalesceReads((id: string) => id, db.load)
    const a = read('a')
    const b = read('b')
    expect(db.queries.map((q) => q.id)).toEqual(['a', 'b'])
    for (const q of db.queries) q.finish()
    await Promise.all([a, b])
    await tick()
    const again = read('a')
    expect(db.queries).toHaveLength(3)
    db.queries[2]?.finish()
    expect(await again).toBe(0)
  })

  it('passes a failure to the reads it served and goes on with the next query', async () => {
    const db = manualLoad()
    const read = coalesceReads((id: string) => id, db.load)
    const failing = read('k')
    const waiting = read('k')
    db.queries[0]?.finish(new Error('store unavailable'))
    await expect(failing).rejects.toThrow('store unavailable')
    await tick()
    db.queries[1]?.finish()
    expect(await waiting).toBe(0)
  })

  it('turns a load that throws synchronously into a rejected read', async () => {
    const read = coalesceReads<string, number>(
      (id) => id,
      () => {
        throw new Error('bad key')
      }
    )
    await expect(read('k')).rejects.toThrow('bad key')
    await expect(read('k')).rejects.toThrow('bad key')
  })

  it('with a deferred start, every read made before the query starts shares it', async () => {
    const db = manualLoad()
    const pending: (() => void)[] = []
    const read = coalesceReads((id: string) => id, db.load, {
      startQuery: (start) => pending.push(start),
    })
    const reads = [read('k'), read('k'), read('k')]
    expect(db.queries).toHaveLength(0)
    expect(pending).toHaveLength(1)
    db.write() // before the query starts: every read above sees it
    pending[0]?.()
    const during = read('k')
    expect(db.queries).toHaveLength(1)
    db.queries[0]?.finish()
    expect(await Promise.all(reads)).toEqual([1, 1, 1])
    // The read made while the query ran is served by the next, started without waiting again.
    await tick()
    expect(db.queries).toHaveLength(2)
    db.queries[1]?.finish()
    expect(await during).toBe(1)
    expect(pending).toHaveLength(1)
  })
})
