/**
 * An embedded database has one session, and the store shares it with whoever else holds the PGlite
 * instance. The store runs its per-request statements as named prepared statements in that session;
 * these tests hold it to sharing well: it never runs inside someone else's transaction, and it does
 * not depend on its statements surviving what others do to the session.
 */
import type { ResourceKey, StoreEvent } from '@meshca/core-mtls'
import { describe, expect, it } from 'vitest'
import { createPgliteStore } from '../src/index.ts'
import { sleep, waitFor } from './support/recording-logger.ts'
import { sharedPglite } from './support/shared-pglite.ts'

const shared = sharedPglite()

async function openStore() {
  const schema = shared.newSchema('session')
  // The cache off: every get below must reach the database.
  const store = await createPgliteStore({ pglite: shared.pglite, schema, readCacheBytes: 0 })
  return { store, schema }
}

const key = (name: string): ResourceKey => ({ type: 'Mesh', mesh: '', name })

/** Settles `promise` into 'pending' when it has not settled after PGlite had time to run it. */
async function stateAfterAWhile(promise: Promise<unknown>): Promise<'pending' | 'settled'> {
  const pending = Symbol('pending')
  const winner = await Promise.race([
    promise.then(() => 'settled' as const),
    new Promise<typeof pending>((resolve) => setTimeout(() => resolve(pending), 200)),
  ])
  return winner === pending ? 'pending' : 'settled'
}

describe('the store on a PGlite session shared with others', () => {
  it("waits for another caller's transaction to end and never runs inside it", async () => {
    const { store, schema } = await openStore()
    await store.create(key('before'), { n: 1 })
    let release: () => void = () => {}
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    const transaction = shared.pglite.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO ${schema}.resources (type, mesh, name, spec) VALUES ('Mesh', '', 'inside', '{"n":2}')`
      )
      await released
      await tx.rollback()
    })
    // Inside the transaction the row exists; a get run there would find it.
    const read = store.get(key('inside'))
    const write = store.create(key('during'), { n: 3 })
    expect(await stateAfterAWhile(read)).toBe('pending')
    expect(await stateAfterAWhile(write)).toBe('pending')
    release()
    await transaction
    expect(await read).toBeUndefined()
    await write
    // The create was not rolled back with the other caller's transaction.
    expect((await store.get(key('during')))?.spec).toEqual({ n: 3 })
    expect((await store.get(key('before')))?.spec).toEqual({ n: 1 })
    await store.close()
  })

  it("leaves the triggers to another caller's writes in a transaction it wrote in (BEGIN by hand)", async () => {
    const { store, schema } = await openStore()
    const heard: StoreEvent[] = []
    store.watch((event) => heard.push(event))
    const table = `${schema}.resources`
    const version = async (name: string) =>
      (
        await shared.pglite.query<{ version: string }>(
          `select version::text as version from ${table} where name = $1`,
          [name]
        )
      ).rows[0]?.version
    const base = await store.create(key('edited'), { n: 0 })
    try {
      // A BEGIN sent as SQL, not through PGlite's transaction(): the store's writes land inside it.
      await shared.pglite.exec('BEGIN')
      const created = await store.create(key('inside'), { n: 1 })
      const updated = await store.update(key('edited'), { n: 1 }, base.version)
      await shared.pglite.exec(`UPDATE ${table} SET spec = '{"n":2}' WHERE name = 'edited'`)
      await shared.pglite.exec(
        `INSERT INTO ${table} (type, mesh, name, spec) VALUES ('Mesh', '', 'typed', '{}')`
      )
      // Nothing inside the transaction is announced before it commits.
      await sleep(20)
      expect(heard.map((event) => `${event.action} ${event.key.name}`)).toEqual(['create edited'])
      await shared.pglite.exec('COMMIT')
      // The hand edit was stamped by the trigger: a version of its own, so the version the store
      // returned for its update is stale and a writer holding it loses.
      const edited = await version('edited')
      expect(BigInt(edited ?? '0')).toBeGreaterThan(BigInt(updated.version))
      await expect(store.update(key('edited'), { n: 3 }, updated.version)).rejects.toMatchObject({
        code: 'CONFLICT',
      })
      expect((await store.get(key('edited')))?.spec).toEqual({ n: 2 })
      expect(created.version).toBe(await version('inside'))
      // And announced, as the store's writes were: at the commit.
      await waitFor(() => heard.length === 5, 'five events')
      expect(heard.map((event) => `${event.action} ${event.key.name}`)).toEqual([
        'create edited',
        'create inside',
        'update edited',
        'update edited',
        'create typed',
      ])
    } finally {
      await store.close()
    }
  })

  it("announces nothing of its writes in another caller's transaction that rolls back", async () => {
    const { store } = await openStore()
    const heard: StoreEvent[] = []
    store.watch((event) => heard.push(event))
    try {
      await shared.pglite.exec('BEGIN')
      await store.create(key('undone'), { n: 1 })
      await shared.pglite.exec('ROLLBACK')
      await store.create(key('done'), { n: 2 })
      await waitFor(() => heard.length > 0, 'an event')
      await sleep(20)
      expect(heard).toEqual([{ action: 'create', key: key('done') }])
      expect(await store.get(key('undone'))).toBeUndefined()
    } finally {
      await store.close()
    }
  })

  it("writes inside another caller's transaction after a DEALLOCATE without failing it", async () => {
    const { store, schema } = await openStore()
    try {
      await store.create(key('warm'), {})
      await shared.pglite.exec('DEALLOCATE ALL')
      // Prepares again what a write outside a transaction uses, not what one inside uses.
      await store.create(key('outside'), {})
      await shared.pglite.exec('BEGIN')
      await shared.pglite.exec(
        `INSERT INTO ${schema}.resources (type, mesh, name, spec) VALUES ('Mesh', '', 'by-hand', '{}')`
      )
      await store.create(key('inside'), {})
      await shared.pglite.exec('COMMIT')
      expect((await store.list('Mesh')).items.map((item) => item.name)).toEqual([
        'by-hand',
        'inside',
        'outside',
        'warm',
      ])
    } finally {
      await store.close()
    }
  })

  it('prepares its statements again after another caller deallocated them', async () => {
    const { store } = await openStore()
    const created = await store.create(key('m'), { n: 1 })
    expect((await store.list('Mesh')).total).toBe(1)
    for (const reset of ['DEALLOCATE ALL', 'DISCARD ALL']) {
      await shared.pglite.exec(reset)
      expect((await store.get(key('m')))?.spec).toEqual({ n: 1 })
      expect((await store.list('Mesh')).items.map((item) => item.name)).toEqual(['m'])
    }
    await shared.pglite.exec('DEALLOCATE ALL')
    const updated = await store.update(key('m'), { n: 2 }, created.version)
    await shared.pglite.exec('DEALLOCATE ALL')
    await store.delete(key('m'), updated.version)
    expect(await store.get(key('m'))).toBeUndefined()
    await store.close()
  })

  it('keeps the statements of stores on different schemas apart', async () => {
    const first = await openStore()
    const second = await openStore()
    await first.store.create(key('m'), { on: 'first' })
    await second.store.create(key('m'), { on: 'second' })
    expect((await first.store.get(key('m')))?.spec).toEqual({ on: 'first' })
    expect((await second.store.get(key('m')))?.spec).toEqual({ on: 'second' })
    await first.store.close()
    await second.store.close()
  })

  it('reports a failed statement with its condition and leaves the session usable', async () => {
    const { store, schema } = await openStore()
    await store.create(key('m'), { n: 1 })
    // A constraint only the database knows about: the store's statement fails in PostgreSQL.
    await shared.pglite.exec(
      `ALTER TABLE ${schema}.resources ADD CONSTRAINT small CHECK (length(spec) < 20)`
    )
    await expect(store.create(key('big'), { text: 'x'.repeat(40) })).rejects.toMatchObject({
      code: 'INVALID',
      message: expect.stringContaining('code 23514'),
    })
    expect(shared.pglite.isInTransaction()).toBe(false)
    await store.create(key('small'), { n: 2 })
    expect((await store.list('Mesh')).items.map((item) => item.name)).toEqual(['m', 'small'])
    await store.close()
  })
})

describe('the change log on PGlite', () => {
  async function loggedChanges(schema: string): Promise<number> {
    const result = await shared.pglite.query<{ count: number }>(
      `select count(*)::int as count from ${schema}.events`
    )
    return result.rows[0]?.count ?? -1
  }

  it('keeps no rows: watchers hear of every write in process, with nothing to replay', async () => {
    const { store, schema } = await openStore()
    try {
      const heard: StoreEvent[] = []
      store.watch((event) => heard.push(event))
      const created = await store.create(key('heard'), {})
      await store.update(key('heard'), { changed: true }, created.version)
      await store.delete(key('heard'))
      await waitFor(() => heard.length === 3, 'three events')
      expect(heard.map((event) => event.action)).toEqual(['create', 'update', 'delete'])
      expect(await loggedChanges(schema)).toBe(0)
    } finally {
      await store.close()
    }
  })

  it('keeps tombstones again where the session lost the setting (RESET ALL by another user)', async () => {
    const { store, schema } = await openStore()
    try {
      await shared.pglite.exec('RESET ALL')
      await store.create(key('logged'), {})
      expect(await loggedChanges(schema)).toBe(0)
      await store.delete(key('logged'))
      expect(await loggedChanges(schema)).toBe(1)
    } finally {
      await store.close()
      await shared.pglite.exec(`SET meshca.change_log TO 'notify'`)
    }
  })
})
