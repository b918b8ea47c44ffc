/**
 * PGlite's read cache is exact: whoever writes through the PGlite instance (this store, another
 * store on the same schema, plain SQL, a transaction), the next `get` sees it, with no wait.
 */
import type { ResourceKey } from '@meshca/core-mtls'
import { describe, expect, it } from 'vitest'
import type { PostgresStore } from '../src/index.ts'
import { createPgliteStore } from '../src/index.ts'
import { sharedPglite } from './support/shared-pglite.ts'

const shared = sharedPglite()

async function openStore(options: { readonly readCacheBytes?: number } = {}) {
  const schema = shared.newSchema('cache')
  const store = await createPgliteStore({ pglite: shared.pglite, schema, ...options })
  return { store, schema }
}

const key = (name: string): ResourceKey => ({ type: 'Mesh', mesh: '', name })

async function specOf(store: PostgresStore, name: string) {
  return (await store.get(key(name)))?.spec
}

/** SQL on the `resources` table of `schema`, as an operator in psql would send it. */
function sqlOn(schema: string, statement: string) {
  return shared.pglite.exec(`SET search_path TO ${schema}; ${statement}; RESET search_path`)
}

/** An update no notification announces (the change triggers are off while it runs). */
function updateUnannounced(schema: string, update: string) {
  return sqlOn(
    schema,
    `ALTER TABLE resources DISABLE TRIGGER USER; ${update}; ALTER TABLE resources ENABLE TRIGGER USER`
  )
}

describe('PGlite read cache', () => {
  it('serves a repeated read from memory: a change that bypasses the triggers is not seen', async () => {
    const { store, schema } = await openStore()
    await store.create(key('m'), { n: 1 })
    expect(await specOf(store, 'm')).toEqual({ n: 1 })
    // With the change triggers off no notification is sent: only a read from the cache misses it.
    await updateUnannounced(schema, `UPDATE resources SET spec = '{"n":2}' WHERE name = 'm'`)
    expect(await specOf(store, 'm')).toEqual({ n: 1 })
    await store.close()
  })

  it('reads the database every time with the cache off', async () => {
    const { store, schema } = await openStore({ readCacheBytes: 0 })
    await store.create(key('m'), { n: 1 })
    expect(await specOf(store, 'm')).toEqual({ n: 1 })
    await updateUnannounced(schema, `UPDATE resources SET spec = '{"n":2}' WHERE name = 'm'`)
    expect(await specOf(store, 'm')).toEqual({ n: 2 })
    await store.close()
  })

  it("sees the store's own update and delete at once", async () => {
    const { store } = await openStore()
    const created = await store.create(key('m'), { n: 1 })
    expect(await specOf(store, 'm')).toEqual({ n: 1 })
    const updated = await store.update(key('m'), { n: 2 }, created.version)
    expect(await store.get(key('m'))).toMatchObject({ spec: { n: 2 }, version: updated.version })
    await store.delete(key('m'))
    expect(await store.get(key('m'))).toBeUndefined()
    await store.close()
  })

  it('sees a resource created after its absence was read', async () => {
    const { store } = await openStore()
    expect(await store.get(key('later'))).toBeUndefined()
    await store.create(key('later'), { n: 1 })
    expect(await specOf(store, 'later')).toEqual({ n: 1 })
    await store.close()
  })

  it('sees writes of another store on the same database and schema at once', async () => {
    const { store, schema } = await openStore()
    const other = await createPgliteStore({ pglite: shared.pglite, schema })
    const created = await store.create(key('m'), { n: 1 })
    expect(await specOf(store, 'm')).toEqual({ n: 1 })
    expect(await specOf(other, 'm')).toEqual({ n: 1 })
    await other.update(key('m'), { n: 2 }, created.version)
    expect(await specOf(store, 'm')).toEqual({ n: 2 })
    await other.delete(key('m'))
    expect(await store.get(key('m'))).toBeUndefined()
    await other.close()
    await store.close()
  })

  it('sees plain SQL and committed transactions, never a rolled-back one', async () => {
    const { store, schema } = await openStore()
    await store.create(key('m'), { n: 1 })
    expect(await specOf(store, 'm')).toEqual({ n: 1 })
    await sqlOn(schema, `UPDATE resources SET spec = '{"n":2}' WHERE name = 'm'`)
    expect(await specOf(store, 'm')).toEqual({ n: 2 })

    await shared.pglite.transaction(async (tx) => {
      await tx.exec(`SET LOCAL search_path TO ${schema}`)
      await tx.exec(`UPDATE resources SET spec = '{"n":3}' WHERE name = 'm'`)
      await tx.exec(`INSERT INTO resources (type, mesh, name, spec) VALUES ('Mesh', '', 'n', '{}')`)
    })
    expect(await specOf(store, 'm')).toEqual({ n: 3 })
    expect(await specOf(store, 'n')).toEqual({})

    await expect(
      shared.pglite.transaction(async (tx) => {
        await tx.exec(`SET LOCAL search_path TO ${schema}`)
        await tx.exec(`UPDATE resources SET spec = '{"n":4}' WHERE name = 'm'`)
        throw new Error('changed my mind')
      })
    ).rejects.toThrow('changed my mind')
    expect(await specOf(store, 'm')).toEqual({ n: 3 })
    await store.close()
  })

  it('keeps no row read inside a transaction someone opened with BEGIN, which may roll back', async () => {
    const { store, schema } = await openStore()
    await store.create(key('m'), { n: 1 })
    try {
      await shared.pglite.exec('BEGIN')
      await sqlOn(schema, `UPDATE resources SET spec = '{"n":2}' WHERE name = 'm'`)
      await sqlOn(
        schema,
        `INSERT INTO resources (type, mesh, name, spec) VALUES ('Mesh', '', 'n', '{}')`
      )
      // The shared session reads what the open transaction wrote.
      expect(await specOf(store, 'm')).toEqual({ n: 2 })
      expect(await specOf(store, 'n')).toEqual({})
      await shared.pglite.exec('ROLLBACK')
      expect(await specOf(store, 'm')).toEqual({ n: 1 })
      expect(await specOf(store, 'n')).toBeUndefined()
    } finally {
      await store.close()
    }
  })

  it('never keeps a row read while a change to it was committed', async () => {
    const { store } = await openStore()
    let version = (await store.create(key('m'), { n: 0 })).version
    // Reads and writes interleaved on one key: every read that starts after an update returned
    // must see it (or a later one).
    for (let n = 1; n <= 30; n++) {
      const reads = [store.get(key('m')), store.get(key('m'))]
      version = (await store.update(key('m'), { n }, version)).version
      await Promise.all(reads)
      const after = await store.get(key('m'))
      expect(after?.spec).toEqual({ n })
      expect(after?.version).toBe(version)
    }
    await store.close()
  })

  it('keeps within its byte budget, dropping the least recently read rows', async () => {
    // A budget of about three rows of this size (256 bytes of overhead each, plus the spec).
    const { store, schema } = await openStore({ readCacheBytes: 3 * 300 })
    for (const name of ['a', 'b', 'c', 'd']) await store.create(key(name), { pad: 'x'.repeat(20) })
    for (const name of ['a', 'b', 'c', 'a', 'd']) await store.get(key(name))
    // 'b' was the least recently read when 'd' came in: it is read from the database again.
    await updateUnannounced(schema, `UPDATE resources SET spec = '{"pad":"changed"}'`)
    expect(await specOf(store, 'b')).toEqual({ pad: 'changed' })
    expect(await specOf(store, 'a')).toEqual({ pad: 'x'.repeat(20) })
    expect(await specOf(store, 'd')).toEqual({ pad: 'x'.repeat(20) })
    await store.close()
  })

  it('refuses a cache size that is not a whole number of bytes', async () => {
    for (const readCacheBytes of [-1, 1.5, Number.NaN]) {
      await expect(
        createPgliteStore({ pglite: shared.pglite, schema: 'never', readCacheBytes })
      ).rejects.toMatchObject({
        code: 'INVALID',
        path: 'readCacheBytes',
      })
    }
  })

  it('gives the first reader of a row its own spec, and later readers one frozen spec', async () => {
    const { store } = await openStore()
    await store.create(key('m'), { list: [1] })
    const first = await store.get(key('m'))
    const own = first?.spec.list
    if (!Array.isArray(own)) throw new Error('the stored list is missing')
    own.push(2)
    const second = await store.get(key('m'))
    const third = await store.get(key('m'))
    // Served from the cache (one object), parsed from the row's text, not from the first reader's.
    expect(third?.spec).toBe(second?.spec)
    expect(second?.spec).toEqual({ list: [1] })
    const shared = second?.spec.list
    if (!Array.isArray(shared)) throw new Error('the stored list is missing')
    expect(() => shared.push(2)).toThrow(TypeError)
    expect(await specOf(store, 'm')).toEqual({ list: [1] })
    await store.close()
  })
})
