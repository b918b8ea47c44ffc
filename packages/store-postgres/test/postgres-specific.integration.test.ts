/**
 * What only a server shows: migrations under concurrent start, where the objects live, and errors
 * that must not leak the connection string or what was written.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import type { ResourceKey } from '@meshca/core-mtls'
import { isMeshcaError } from '@meshca/core-mtls'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PostgresStore } from '../src/index.ts'
import {
  createPostgresStore,
  defaultMigrationsFolder,
  MIGRATIONS_TABLE,
  openStore,
} from '../src/index.ts'
import { recordingLogger, sleep, waitFor } from './support/recording-logger.ts'
import { startTcpProxy } from './support/tcp-proxy.ts'
import type { TestPostgres } from './support/test-postgres.ts'
import { connectTestPostgres } from './support/test-postgres.ts'

let server: TestPostgres

beforeAll(async () => {
  server = await connectTestPostgres()
})

afterAll(async () => {
  await server?.dispose()
})

function secret(name: string): ResourceKey {
  return { type: 'Secret', mesh: 'default', name }
}

async function rejection(action: Promise<unknown>): Promise<unknown> {
  try {
    await action
  } catch (error) {
    return error
  }
  throw new Error('expected a rejection')
}

/** How many migrations this build has: its journal's entries. */
async function committedMigrations(): Promise<number> {
  const journal = JSON.parse(
    await readFile(join(defaultMigrationsFolder(), 'meta', '_journal.json'), 'utf8')
  ) as { readonly entries: readonly unknown[] }
  return journal.entries.length
}

describe('migrations', () => {
  it('are applied exactly once when several instances start at once', async () => {
    const schema = server.newSchema()
    const logger = recordingLogger()
    const stores = await Promise.all(
      Array.from({ length: 6 }, () =>
        createPostgresStore({ url: server.url, schema, poolSize: 1, logger })
      )
    )
    try {
      const applied = logger.entries.filter((entry) => entry.message === 'applied store migrations')
      expect(applied).toHaveLength(1)
      const migrations = await committedMigrations()
      expect(applied[0]?.fields.applied).toBe(migrations)
      const rows = await server.admin.unsafe(`select hash from "${schema}"."${MIGRATIONS_TABLE}"`)
      expect(rows).toHaveLength(migrations)
      // All six work on the same tables.
      const created = await Promise.all(
        stores.map((store, index) => store.create(secret(`from-${index}`), {}))
      )
      expect(new Set(created.map((resource) => resource.version)).size).toBe(6)
      expect((await stores[0]?.list('Secret'))?.total).toBe(6)
    } finally {
      for (const store of stores) await store.close()
    }
    // Opening again applies nothing.
    const again = await createPostgresStore({ url: server.url, schema, logger })
    await again.close()
    expect(logger.entries.filter((e) => e.message === 'applied store migrations')).toHaveLength(1)
  })

  it('that fail make the open fail, with nothing applied and no connection left open', async () => {
    // The LISTEN connection opens while the migrations run: a failing migration must close it too.
    const folder = mkdtempSync(join(tmpdir(), 'meshca-migrations-'))
    try {
      mkdirSync(join(folder, 'meta'))
      const entry = { idx: 0, version: '7', when: 1, tag: '0000_broken', breakpoints: true }
      writeFileSync(
        join(folder, 'meta', '_journal.json'),
        JSON.stringify({ version: '7', dialect: 'postgresql', entries: [entry] })
      )
      writeFileSync(
        join(folder, '0000_broken.sql'),
        'CREATE TABLE "half" (id int);\n--> statement-breakpoint\nCREATE TABLE "broken" ('
      )
      const schema = server.newSchema()
      const error = await rejection(
        createPostgresStore({
          url: server.url,
          schema,
          migrationsFolder: folder,
          applicationName: schema,
        })
      )
      expect(isMeshcaError(error) && error.message).toMatch(/^open the store failed/)
      const [half] = await server.admin.unsafe<{ found: string | null }[]>(
        `select to_regclass($1)::text as found`,
        [`"${schema}".half`]
      )
      expect(half?.found).toBeNull()
      // A closed session leaves pg_stat_activity when its backend has exited: shortly after.
      const sessions = () =>
        server.admin.unsafe(`select pid from pg_stat_activity where application_name like $1`, [
          `${schema}-%`,
        ])
      for (let waited = 0; (await sessions()).length > 0 && waited < 2000; waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      expect(await sessions()).toHaveLength(0)
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  })

  it('put every object in the store schema, with "C" collation on the key columns', async () => {
    const schema = server.newSchema()
    const countPublic = async () =>
      (
        await server.admin<{ count: number }[]>`
          select count(*)::int as count from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = 'public'`
      )[0]?.count
    const publicBefore = await countPublic()
    const store = await createPostgresStore({ url: server.url, schema })
    try {
      const relations = await server.admin<{ relname: string; relkind: string }[]>`
        select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = ${schema} and c.relkind in ('r', 'S') order by c.relname`
      expect(relations.map((r) => `${r.relname}:${r.relkind}`)).toEqual([
        `${MIGRATIONS_TABLE}:r`,
        `${MIGRATIONS_TABLE}_id_seq:S`,
        'change_seq:S',
        'events:r',
        'instances:r',
        'resources:r',
      ])
      const functions = await server.admin<{ proname: string }[]>`
        select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = ${schema} order by p.proname`
      expect(functions.map((f) => f.proname)).toEqual([
        'record_resource_change',
        'stamp_resource_update',
      ])
      expect(await countPublic()).toBe(publicBefore)
      const collations = await server.admin<{ attname: string; collname: string }[]>`
        select a.attname, c.collname from pg_attribute a join pg_collation c on c.oid = a.attcollation
        where a.attrelid = ${`"${schema}".resources`}::regclass and a.attname in ('type', 'mesh', 'name')
        order by a.attnum`
      expect(collations).toEqual([
        { attname: 'type', collname: 'C' },
        { attname: 'mesh', collname: 'C' },
        { attname: 'name', collname: 'C' },
      ])
    } finally {
      await store.close()
    }
  })

  it('warn when the database has migrations this build does not know', async () => {
    const schema = server.newSchema()
    await (await createPostgresStore({ url: server.url, schema })).close()
    await server.admin.unsafe(
      `insert into "${schema}"."${MIGRATIONS_TABLE}" (hash, created_at) values ('future', 32503680000000)`
    )
    const logger = recordingLogger()
    const store = await createPostgresStore({ url: server.url, schema, logger })
    await store.close()
    expect(logger.entries.some((entry) => entry.message.includes('newer than this build'))).toBe(
      true
    )
  })
})

describe('connection URLs as libpq writes them', () => {
  it('reach the server over its Unix socket, the directory in the host parameter or in the host', async (context) => {
    const [settings] = await server.admin.unsafe<{ directories: string; port: string }[]>(
      `select current_setting('unix_socket_directories') as directories, current_setting('port') as port`
    )
    const port = settings?.port ?? ''
    const directory = settings?.directories.split(',')[0]?.trim() ?? ''
    // A server on another machine (PG_CONNECTION_STRING) has no socket here: said in the report.
    context.skip(
      !directory.startsWith('/') || !existsSync(join(directory, `.s.PGSQL.${port}`)),
      `the server's socket (${directory}, port ${port}) is not on this machine`
    )
    const base = new URL(server.url)
    const database = base.pathname.slice(1)
    const login = base.password ? `${base.username}:${base.password}` : base.username
    const urls = [
      `postgres:///${database}?host=${directory}&port=${port}&user=${base.username}${base.password ? `&password=${base.password}` : ''}`,
      `postgresql://${login}@${encodeURIComponent(directory)}:${port}/${database}`,
      `postgres://${login}@/${database}?host=${encodeURIComponent(directory)}&port=${port}`,
    ]
    for (const url of urls) {
      const schema = server.newSchema()
      const store = await createPostgresStore({ url, schema, poolSize: 1, applicationName: schema })
      try {
        await store.create(secret('over-the-socket'), { key: 'k' })
        expect((await store.get(secret('over-the-socket')))?.spec, url).toEqual({ key: 'k' })
        // A Unix-socket client has no address.
        const sessions = await server.admin.unsafe<{ address: string | null }[]>(
          `select client_addr::text as address from pg_stat_activity where application_name like $1`,
          [`${schema}-%`]
        )
        expect(sessions.length, url).toBeGreaterThan(0)
        expect(
          sessions.map((session) => session.address),
          url
        ).toEqual(sessions.map(() => null))
      } finally {
        await store.close()
      }
    }
  })
})

describe('the change log on PostgreSQL', () => {
  it('keeps a tombstone for each deletion and no row for a create or update', async () => {
    const schema = server.newSchema()
    const store = await createPostgresStore({ url: server.url, schema, poolSize: 1 })
    try {
      const created = await store.create(secret('gone'), {})
      await store.update(secret('gone'), { n: 1 }, created.version)
      await store.create(secret('stays'), {})
      await store.delete(secret('gone'))
      const rows = await server.admin.unsafe<{ action: string; name: string }[]>(
        `select action, name from "${schema}".events order by seq`
      )
      expect(rows).toEqual([{ action: 'delete', name: 'gone' }])
    } finally {
      await store.close()
    }
  })

  it('keeps tombstones even where a database default asks for notifications only', async () => {
    const database = `meshca_log_${server.newSchema()}`.slice(0, 60)
    await server.admin.unsafe(`create database "${database}"`)
    try {
      await server.admin.unsafe(`alter database "${database}" set meshca.change_log = 'notify'`)
      const url = new URL(server.url)
      url.pathname = `/${database}`
      const store = await createPostgresStore({ url: url.toString(), poolSize: 1 })
      const reader = postgres(url.toString(), { max: 1, onnotice: () => {} })
      try {
        await store.create(secret('logged'), {})
        await store.delete(secret('logged'))
        const [setting] = await reader<{ value: string }[]>`
          select current_setting('meshca.change_log') as value`
        expect(setting?.value).toBe('notify')
        const rows = await reader.unsafe<{ action: string }[]>(
          `select action from "${store.schema}".events order by seq`
        )
        expect(rows.map((row) => row.action)).toEqual(['delete'])
      } finally {
        await reader.end()
        await store.close()
      }
    } finally {
      await server.admin.unsafe(`drop database if exists "${database}" with (force)`)
    }
  })
})

describe("the store's own writes on PostgreSQL", () => {
  it('run on the LISTEN connection while it is free, and on the pool when it is busy', async () => {
    const schema = server.newSchema()
    const applicationName = `meshca-route-${schema}`.slice(0, 40)
    const store = await createPostgresStore({
      url: server.url,
      schema,
      poolSize: 4,
      applicationName,
    })
    const events: string[] = []
    const stop = store.watch((event) => events.push(`${event.action} ${event.key.name}`))
    /** The last statement of each of the store's connections, by kind (listen, store). */
    const lastStatements = async (kind: string) =>
      (
        await server.admin<{ query: string }[]>`
          select query from pg_stat_activity where application_name = ${`${applicationName}-${kind}`}`
      ).map((row) => row.query)
    try {
      const key = secret('routed')
      const created = await store.create(key, { n: 0 })
      // Its own notification came back on the same connection, ahead of the answer.
      expect(events).toEqual(['create routed'])
      const updated = await store.update(key, { n: 1 }, created.version)
      expect(events).toEqual(['create routed', 'update routed'])
      expect((await lastStatements('listen')).join()).toMatch(/^with "written" as \(update /)
      await store.delete(key, updated.version)
      expect(events).toEqual(['create routed', 'update routed', 'delete routed'])
      expect((await lastStatements('listen')).join()).toMatch(/^delete from /)

      // Overlapping writes do not queue behind one another on that one connection.
      const names = Array.from({ length: 6 }, (_, index) => `overlap-${index}`)
      await Promise.all(names.map((name) => store.create(secret(name), { name })))
      const poolInserts = (await lastStatements('store')).filter((query) =>
        query.startsWith('with "written" as (insert ')
      )
      expect(poolInserts.length).toBeGreaterThan(0)
      await waitFor(() => events.length === 3 + names.length, 'the overlapping creates')
      await sleep(50)
      expect(events.slice(3).sort()).toEqual(names.map((name) => `create ${name}`).sort())
    } finally {
      stop()
      await store.close()
    }
  })

  it('hand a write that waits for a row lock to the pool, and keep the events flowing', async () => {
    const schema = server.newSchema()
    const applicationName = `meshca-lock-${schema}`.slice(0, 40)
    const logger = recordingLogger()
    const store = await createPostgresStore({
      url: server.url,
      schema,
      poolSize: 2,
      applicationName,
      logger,
    })
    const locker = postgres(server.url, { max: 1, onnotice: () => {} })
    const events: string[] = []
    const stop = store.watch((event) => events.push(`${event.action} ${event.key.name}`))
    try {
      const created = await store.create(secret('locked'), { n: 0 })
      await locker.unsafe('begin')
      await locker.unsafe(`select 1 from "${schema}".resources where name = 'locked' for update`)
      const waiting = store.update(secret('locked'), { n: 1 }, created.version)
      // It waits on a pool connection; the LISTEN connection is free again.
      await waitFor(async () => {
        const [row] = await server.admin<{ waiting: number }[]>`
          select count(*)::int as waiting from pg_stat_activity
          where application_name = ${`${applicationName}-store`} and wait_event_type = 'Lock'`
        return row?.waiting === 1
      }, 'the update waiting for the lock on a pool connection')
      // A session receives notifications only between statements: had the update stayed on the
      // LISTEN connection, this create's event would wait for the lock too.
      await store.create(secret('other'), { n: 0 })
      await waitFor(() => events.includes('create other'), 'the event of a write meanwhile')
      await locker.unsafe('commit')
      const updated = await waiting
      expect(updated.spec).toEqual({ n: 1 })
      expect(BigInt(updated.version)).toBeGreaterThan(BigInt(created.version))
      await waitFor(() => events.includes('update locked'), 'the update event')
      await sleep(50)
      expect(events).toEqual(['create locked', 'create other', 'update locked'])
      expect(logger.entries.filter((entry) => entry.level !== 'info')).toEqual([])
    } finally {
      stop()
      await locker.end()
      await store.close()
    }
  })

  it('fail a write on a LISTEN connection that stopped answering, soon after it is given up', async () => {
    const proxy = await startTcpProxy(server.url)
    const schema = server.newSchema()
    const logger = recordingLogger()
    const store = await createPostgresStore({
      url: proxy.url,
      schema,
      poolSize: 2,
      listenCheckIntervalMs: 200,
      logger,
    })
    try {
      const created = await store.create(secret('frozen'), { n: 0 })
      // Every open connection stops answering, without a close; new ones still get through.
      proxy.freeze()
      const started = Date.now()
      const error = await rejection(store.update(secret('frozen'), { n: 1 }, created.version))
      expect(isMeshcaError(error) && error.code).toBe('STORE_UNAVAILABLE')
      // The check's interval and wait, then as long again for the write: about 0.6 s, against the
      // minutes TCP takes to notice (or never, with no timeout at all). 10 s only catches those.
      expect(Date.now() - started).toBeLessThan(10_000)
      expect(logger.entries.map((entry) => entry.message)).toContain(
        'store listen connection lost; reconnecting'
      )
    } finally {
      await store.close()
      await proxy.close()
    }
  })

  it('leave migrations that write resources to the triggers', async () => {
    const schema = server.newSchema()
    const folder = mkdtempSync(join(tmpdir(), 'meshca-migrations-'))
    try {
      cpSync(defaultMigrationsFolder(), folder, { recursive: true })
      const journalFile = join(folder, 'meta', '_journal.json')
      const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as {
        entries: { idx: number; version: string; when: number; tag: string; breakpoints: boolean }[]
      }
      const tag = '9999_data'
      journal.entries.push({
        idx: journal.entries.length,
        version: '7',
        when: (journal.entries.at(-1)?.when ?? 0) + 1,
        tag,
        breakpoints: true,
      })
      writeFileSync(journalFile, JSON.stringify(journal))
      writeFileSync(
        join(folder, `${tag}.sql`),
        `INSERT INTO "resources" ("type", "mesh", "name", "spec") VALUES ('Secret', 'default', 'seeded', '{}');
--> statement-breakpoint
UPDATE "resources" SET "spec" = '{"n":1}' WHERE "name" = 'seeded';`
      )
      const listener = postgres(server.url, { max: 1, onnotice: () => {} })
      const heard: string[] = []
      await listener.listen(`${schema}.changes`, (payload) => {
        heard.push((JSON.parse(payload) as { action: string }).action)
      })
      const store = await createPostgresStore({
        url: server.url,
        schema,
        poolSize: 1,
        migrationsFolder: folder,
      })
      try {
        const seeded = await store.get(secret('seeded'))
        expect(seeded?.spec).toEqual({ n: 1 })
        // Announced and stamped by the triggers, as a hand edit would be.
        await waitFor(() => heard.length === 2, "the migration's two notifications")
        expect(heard).toEqual(['create', 'update'])
        const [sequence] = await server.admin.unsafe<{ last: string }[]>(
          `select last_value::text as last from "${schema}".change_seq`
        )
        expect(seeded?.version).toBe(sequence?.last)
      } finally {
        await listener.end()
        await store.close()
      }
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  })
})

describe('reads on PostgreSQL', () => {
  it('give each reader a spec no other reader can change: its own, or one frozen spec that the readers of one query share', async () => {
    const store = await createPostgresStore({ url: server.url, schema: server.newSchema() })
    try {
      const key: ResourceKey = { type: 'Mesh', mesh: '', name: 'hot' }
      await store.create(key, { list: [1] })
      // The first read runs alone; the four made while its query runs share the next query.
      const lists = (await Promise.all([1, 2, 3, 4, 5].map(() => store.get(key)))).map((read) => {
        const list = read?.spec.list
        if (!Array.isArray(list)) throw new Error('the stored list is missing')
        return list
      })
      const own = lists.filter((list) => !Object.isFrozen(list))
      const shared = lists.filter((list) => Object.isFrozen(list))
      // The lone read's and the shared query's first reader's.
      expect(own).toHaveLength(2)
      expect(shared).toHaveLength(3)
      expect(new Set(shared).size).toBe(1)
      for (const list of own) list.push(2)
      expect(() => shared[0]?.push(2)).toThrow(TypeError)
      expect(shared[0]).toEqual([1])
      expect((await store.get(key))?.spec).toEqual({ list: [1] })
    } finally {
      await store.close()
    }
  })
})

describe('errors that must not leak', () => {
  it('refuse a URL that is not postgres:// without repeating it', async () => {
    const error = await rejection(
      createPostgresStore({ url: 'mysql://meshca:hunter2@db.internal/meshca' })
    )
    expect(isMeshcaError(error, 'INVALID')).toBe(true)
    expect(inspect(error, { depth: 8 })).not.toContain('hunter2')
    const location = await rejection(openStore('https://example.com/db'))
    expect(isMeshcaError(location, 'INVALID')).toBe(true)
  })

  it('report an unreachable server as STORE_UNAVAILABLE without the address or the password', async () => {
    const error = await rejection(
      createPostgresStore({
        url: 'postgres://meshca:hunter2@127.0.0.1:1/meshca',
        connectTimeoutSeconds: 2,
      })
    )
    expect(isMeshcaError(error, 'STORE_UNAVAILABLE'), String(error)).toBe(true)
    const shown = inspect(error, { depth: 8 })
    expect(shown).not.toContain('hunter2')
    expect(shown).not.toContain('127.0.0.1')
  })

  it('keep what was written out of the error when the server refuses a query', async () => {
    const schema = server.newSchema()
    const store: PostgresStore = await createPostgresStore({ url: server.url, schema, poolSize: 1 })
    try {
      await store.create(secret('before'), { key: 'hunter2-private-key' })
      await server.admin.unsafe(`drop table "${schema}".resources cascade`)
      const error = await rejection(store.create(secret('after'), { key: 'hunter2-private-key' }))
      expect(isMeshcaError(error, 'INTERNAL'), String(error)).toBe(true)
      expect((error as Error).message).toBe(
        'create failed (the store tables are missing, code 42P01)'
      )
      const shown = inspect(error, { depth: 8 })
      expect(shown).not.toContain('hunter2')
      expect(shown).not.toContain('insert into')
    } finally {
      await store.close()
    }
  })
})
