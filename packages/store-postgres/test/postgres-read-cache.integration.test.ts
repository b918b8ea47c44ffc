/**
 * The read cache on PostgreSQL (`readCacheMaxAgeMs`): off unless asked for; with it, rows come from
 * memory, this instance's own writes show at once, another instance's once their notification
 * arrives, writes that bypass the triggers after the maximum age, and nothing is answered from
 * memory while the listen connection is down.
 */
import type { ResourceKey } from '@meshca/core-mtls'
import { isMeshcaError } from '@meshca/core-mtls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PostgresStore, PostgresStoreOptions } from '../src/index.ts'
import { createPostgresStore } from '../src/index.ts'
import { recordingLogger, sleep } from './support/recording-logger.ts'
import type { TestPostgres } from './support/test-postgres.ts'
import { connectTestPostgres } from './support/test-postgres.ts'

let server: TestPostgres

beforeAll(async () => {
  server = await connectTestPostgres()
})

afterAll(async () => {
  await server?.dispose()
})

const key: ResourceKey = { type: 'Mesh', mesh: '', name: 'cached' }

/** Changes the spec behind every store's back: no trigger fires, so nothing is announced. */
async function unannouncedWrite(schema: string, spec: object): Promise<void> {
  await server.admin.begin(async (sql) => {
    await sql`set local session_replication_role = replica`
    await sql.unsafe(`update "${schema}".resources set spec = $1 where name = $2`, [
      JSON.stringify(spec),
      key.name,
    ])
  })
}

/**
 * Runs `write` and waits until `store` has heard its notification, which drops the row again: what
 * is read after that stays cached.
 */
async function heard<T>(store: PostgresStore, write: () => Promise<T>): Promise<T> {
  let unsubscribe = () => {}
  const announced = new Promise<void>((resolve) => {
    unsubscribe = store.watch(() => resolve())
  })
  try {
    const result = await write()
    await announced
    return result
  } finally {
    unsubscribe()
  }
}

function cachedStore(
  schema: string,
  readCacheMaxAgeMs: number,
  more: Partial<PostgresStoreOptions> = {}
): Promise<PostgresStore> {
  return createPostgresStore({ url: server.url, schema, poolSize: 2, readCacheMaxAgeMs, ...more })
}

async function specOf(store: PostgresStore): Promise<unknown> {
  return (await store.get(key))?.spec
}

/** Retries `read` until it gives `expected`, failing after `timeoutMs`. */
async function eventuallyReads(
  read: () => Promise<unknown>,
  expected: unknown,
  timeoutMs = 5_000
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (JSON.stringify(value) === JSON.stringify(expected)) return
    if (Date.now() > deadline) expect(value).toEqual(expected)
    await sleep(10)
  }
}

describe('the read cache on PostgreSQL', () => {
  it('is off unless asked for: every read sees the database', async () => {
    const schema = server.newSchema()
    const store = await createPostgresStore({ url: server.url, schema, poolSize: 2 })
    try {
      await store.create(key, { n: 1 })
      expect(await specOf(store)).toEqual({ n: 1 })
      await unannouncedWrite(schema, { n: 'behind its back' })
      expect(await specOf(store)).toEqual({ n: 'behind its back' })
    } finally {
      await store.close()
    }
  })

  it('answers from memory, shows its own writes at once and the other instance’s once announced', async () => {
    const schema = server.newSchema()
    const store = await cachedStore(schema, 60_000)
    const other = await createPostgresStore({ url: server.url, schema, poolSize: 2 })
    try {
      const created = await heard(store, () => store.create(key, { n: 1 }))
      expect(await specOf(store)).toEqual({ n: 1 })
      await unannouncedWrite(schema, { n: 'behind its back' })
      // Served from memory: the database has moved on.
      expect(await specOf(store)).toEqual({ n: 1 })

      // Its own write shows at once, even with no notification at all.
      await server.admin.unsafe(
        `alter table "${schema}".resources disable trigger resources_record_change`
      )
      const own = await store.update(key, { n: 2 }, created.version)
      expect(await specOf(store)).toEqual({ n: 2 })
      await server.admin.unsafe(
        `alter table "${schema}".resources enable trigger resources_record_change`
      )

      // Another instance's write: once its notification lands.
      expect(await specOf(store)).toEqual({ n: 2 })
      await other.update(key, { n: 3 }, own.version)
      await eventuallyReads(() => specOf(store), { n: 3 })
    } finally {
      await store.close()
      await other.close()
    }
  })

  it('reads again after a conflict: the cached version was stale', async () => {
    const schema = server.newSchema()
    const store = await cachedStore(schema, 60_000)
    try {
      const created = await heard(store, () => store.create(key, { n: 1 }))
      await store.get(key)
      // A new version the cache has not heard of (the trigger that announces it is off).
      await server.admin.unsafe(
        `alter table "${schema}".resources disable trigger resources_record_change`
      )
      await server.admin.unsafe(`update "${schema}".resources set spec = '{"n":2}'`)
      await server.admin.unsafe(
        `alter table "${schema}".resources enable trigger resources_record_change`
      )
      expect((await store.get(key))?.version).toBe(created.version)
      const conflict = await store.update(key, { n: 3 }, created.version).catch((e: unknown) => e)
      expect(isMeshcaError(conflict, 'CONFLICT')).toBe(true)
      const fresh = await store.get(key)
      expect(fresh?.spec).toEqual({ n: 2 })
      expect(fresh?.version).not.toBe(created.version)
    } finally {
      await store.close()
    }
  })

  it('answers a row no longer than the maximum age', async () => {
    const schema = server.newSchema()
    const store = await cachedStore(schema, 2_000)
    try {
      await heard(store, () => store.create(key, { n: 1 }))
      expect(await specOf(store)).toEqual({ n: 1 })
      await unannouncedWrite(schema, { n: 'behind its back' })
      expect(await specOf(store)).toEqual({ n: 1 })
      await sleep(2_300)
      expect(await specOf(store)).toEqual({ n: 'behind its back' })
    } finally {
      await store.close()
    }
  })

  it('answers nothing from memory while the listen connection is down, nor what it had before', async () => {
    // A role of its own that can be barred from logging in: the listen connection, once killed,
    // cannot come back until the test lets it, while the pool's open connection keeps serving.
    const role = `meshca_cache_${server.newSchema()}`.slice(0, 60)
    await server.admin.unsafe(`create role "${role}" superuser login`)
    const schema = server.newSchema()
    const url = new URL(server.url)
    url.username = role
    url.password = ''
    const applicationName = `meshca-cache-${schema}`.slice(0, 40)
    const logger = recordingLogger()
    const store = await createPostgresStore({
      url: url.toString(),
      schema,
      poolSize: 1,
      applicationName,
      logger,
      readCacheMaxAgeMs: 60_000,
      connectTimeoutSeconds: 2,
    })
    const logged = async (text: string) => {
      const deadline = Date.now() + 10_000
      while (!logger.entries.some((entry) => entry.message.includes(text))) {
        if (Date.now() > deadline) throw new Error(`no log line with "${text}"`)
        await sleep(20)
      }
    }
    try {
      await heard(store, () => store.create(key, { n: 1 }))
      expect(await specOf(store)).toEqual({ n: 1 })
      await unannouncedWrite(schema, { n: 'while it was away' })
      expect(await specOf(store)).toEqual({ n: 1 })

      await server.admin.unsafe(`alter role "${role}" nologin`)
      const killed = await server.admin<{ pid: number }[]>`
        select pg_terminate_backend(pid), pid from pg_stat_activity
        where application_name = ${`${applicationName}-listen`}`
      expect(killed).toHaveLength(1)
      await logged('listen connection lost')
      // What it had is gone, and what it reads now is not kept: changes go unannounced.
      expect(await specOf(store)).toEqual({ n: 'while it was away' })
      await unannouncedWrite(schema, { n: 'still away' })
      expect(await specOf(store)).toEqual({ n: 'still away' })
      expect(logger.entries.some((entry) => entry.message.includes('resumed'))).toBe(false)

      await server.admin.unsafe(`alter role "${role}" login`)
      await logged('resumed')
      expect(await specOf(store)).toEqual({ n: 'still away' })
    } finally {
      await store.close()
      await server.admin.unsafe(`drop owned by "${role}" cascade`)
      await server.admin.unsafe(`drop role "${role}"`)
    }
  })

  it('refuses a maximum age or size that is not a whole number, before connecting', async () => {
    for (const readCacheMaxAgeMs of [-1, 1.5, Number.NaN]) {
      const error = await createPostgresStore({
        url: 'postgres://nobody@127.0.0.1:1/none',
        readCacheMaxAgeMs,
      }).catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 'INVALID', path: 'readCacheMaxAgeMs' })
    }
    const error = await createPostgresStore({
      url: 'postgres://nobody@127.0.0.1:1/none',
      readCacheBytes: -1,
    }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'INVALID', path: 'readCacheBytes' })
  })
})
