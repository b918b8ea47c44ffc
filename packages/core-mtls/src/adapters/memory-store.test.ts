import { describe, expect, it } from 'vitest'
import type { Clock, Logger, LogLevel } from '../ports/runtime.ts'
import { runStoreContract } from '../testing/store-contract.ts'
import { createMemoryStore, createMemoryStoreData } from './memory-store.ts'

runStoreContract('memory', { makeStore: async () => createMemoryStore() })

// The same suite over shared data, so that the two-instance tests run here as well.
const sharedData = new WeakMap<object, ReturnType<typeof createMemoryStoreData>>()
runStoreContract('memory, two instances on shared data', {
  makeStore: async () => {
    const data = createMemoryStoreData()
    const store = createMemoryStore({ data })
    sharedData.set(store, data)
    return store
  },
  makeSecondStore: async (first) => {
    const data = sharedData.get(first)
    if (data === undefined) throw new Error('unknown first store')
    return createMemoryStore({ data })
  },
})

describe('memory store', () => {
  it('takes creation and modification times from the injected clock', async () => {
    const clock = manualClock('2024-01-01T00:00:00.000Z')
    const store = createMemoryStore({ clock })
    const key = { type: 'Secret', mesh: 'default', name: 's' } as const
    const created = await store.create(key, {})
    expect(created.creationTime.toISOString()).toBe('2024-01-01T00:00:00.000Z')
    clock.set('2024-06-01T12:00:00.000Z')
    const updated = await store.update(key, { n: 1 }, created.version)
    expect(updated.creationTime.toISOString()).toBe('2024-01-01T00:00:00.000Z')
    expect(updated.modificationTime.toISOString()).toBe('2024-06-01T12:00:00.000Z')
  })

  it('never dates a modification before the creation, even when the clock goes back', async () => {
    const clock = manualClock('2024-06-01T00:00:00.000Z')
    const store = createMemoryStore({ clock })
    const key = { type: 'Mesh', mesh: '', name: 'default' } as const
    const created = await store.create(key, {})
    clock.set('2024-01-01T00:00:00.000Z')
    const updated = await store.update(key, {}, created.version)
    expect(updated.modificationTime.getTime()).toBe(created.creationTime.getTime())
  })

  it('orders names by code point above U+FFFF too, as PostgreSQL\'s "C" collation does', async () => {
    const store = createMemoryStore()
    // UTF-16 units would put the emoji (D83D DE00) before U+FF61; code points put it after.
    for (const name of ['x\u{1F600}', 'x\uFF61', 'x']) {
      await store.create({ type: 'Secret', mesh: 'default', name }, {})
    }
    const page = await store.list('Secret')
    expect(page.items.map((item) => item.name)).toEqual(['x', 'x\uFF61', 'x\u{1F600}'])
  })

  it('keeps separate stores apart unless they share data', async () => {
    const key = { type: 'Mesh', mesh: '', name: 'default' } as const
    const data = createMemoryStoreData()
    await createMemoryStore({ data }).create(key, {})
    expect(await createMemoryStore({ data }).get(key)).toBeDefined()
    expect(await createMemoryStore().get(key)).toBeUndefined()
  })

  it('logs a listener that throws, naming the event', async () => {
    const logged: {
      level: LogLevel
      message: string
      fields?: Readonly<Record<string, unknown>>
    }[] = []
    const logger: Logger = {
      log: (level, message, fields) =>
        logged.push(fields === undefined ? { level, message } : { level, message, fields }),
    }
    const store = createMemoryStore({ logger })
    store.watch(() => {
      throw new Error('boom')
    })
    await store.create({ type: 'Secret', mesh: 'default', name: 'noisy' }, {})
    await Promise.resolve()
    expect(logged).toEqual([
      {
        level: 'error',
        message: 'store watch listener failed',
        fields: { action: 'create', type: 'Secret', mesh: 'default', name: 'noisy', error: 'boom' },
      },
    ])
  })

  it('delivers no event to a listener that unsubscribed after the write but before delivery', async () => {
    const store = createMemoryStore()
    let count = 0
    const unsubscribe = store.watch(() => {
      count += 1
    })
    const write = store.create({ type: 'Secret', mesh: 'default', name: 'late' }, {})
    unsubscribe()
    await write
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(count).toBe(0)
  })
})

function manualClock(start: string): Clock & { set(iso: string): void } {
  let now = new Date(start)
  return {
    now: () => new Date(now),
    set: (iso) => {
      now = new Date(iso)
    },
  }
}
