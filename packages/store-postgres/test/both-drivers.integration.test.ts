/**
 * Behaviour the contract suite does not cover, on both drivers: bad input gives clear INVALID or
 * CORRUPTED errors (never a crash, never the content in a message), a hand edit of a row is seen as
 * a change, and secrets reach the table encrypted.
 */
import { PGlite } from '@electric-sql/pglite'
import type { JsonObject, ResourceKey, StoreEvent } from '@meshca/core-mtls'
import { createSecretManager, generateEncryptionKey, isMeshcaError } from '@meshca/core-mtls'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PostgresStore } from '../src/index.ts'
import { createPgliteStore, createPostgresStore } from '../src/index.ts'
import { sleep, waitFor } from './support/recording-logger.ts'
import type { TestPostgres } from './support/test-postgres.ts'
import { connectTestPostgres } from './support/test-postgres.ts'

interface Harness {
  open(options?: {
    readonly maxSpecBytes?: number
    readonly schema?: string
  }): Promise<PostgresStore>
  /** Runs SQL outside the store, as an operator with psql would. */
  raw<Row>(query: string, params?: readonly unknown[]): Promise<Row[]>
  /** LISTENs on `channel` outside the store; returns the unlisten. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>
}

let server: TestPostgres
let pglite: PGlite
let schemaCount = 0

beforeAll(async () => {
  ;[server, pglite] = await Promise.all([connectTestPostgres(), PGlite.create()])
})

afterAll(async () => {
  await server?.dispose()
  await pglite?.close()
})

const harnesses: Record<string, () => Harness> = {
  PostgreSQL: () => ({
    open: (options = {}) =>
      createPostgresStore({ url: server.url, schema: server.newSchema(), poolSize: 2, ...options }),
    raw: (query, params = []) =>
      server.admin.unsafe(query, params as never[]) as unknown as Promise<never[]>,
    async listen(channel, onPayload) {
      const listener = postgres(server.url, { max: 1, onnotice: () => {} })
      await listener.listen(channel, onPayload)
      return () => listener.end()
    },
  }),
  PGlite: () => ({
    open: (options = {}) =>
      createPgliteStore({ pglite, schema: `both_${++schemaCount}`, ...options }),
    raw: async (query, params = []) => (await pglite.query(query, [...params])).rows as never[],
    listen: (channel, onPayload) => pglite.listen(`"${channel}"`, onPayload),
  }),
}

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

for (const [driver, harness] of Object.entries(harnesses)) {
  describe(`${driver}: bad input`, () => {
    it('rejects names longer than the column, NUL characters and unpaired surrogates as INVALID', async () => {
      const store = await harness().open()
      try {
        const cases: [ResourceKey, string][] = [
          [secret('n'.repeat(254)), 'name'],
          [{ type: 'Secret', mesh: 'm'.repeat(254), name: 'x' }, 'mesh'],
          [secret('nul\u0000name'), 'name'],
          [secret('lone\uD800'), 'name'],
        ]
        for (const [key, field] of cases) {
          const error = await rejection(store.create(key, {}))
          expect(isMeshcaError(error, 'INVALID'), String(error)).toBe(true)
          expect((error as { violations: { field: string }[] }).violations[0]?.field).toBe(field)
          expect(isMeshcaError(await rejection(store.get(key)), 'INVALID')).toBe(true)
        }
        // 253 characters, some of them outside the BMP, is still a name.
        const longest = secret(`${'🔐'.repeat(3)}${'n'.repeat(250)}`)
        await store.create(longest, {})
        expect((await store.get(longest))?.name).toBe(longest.name)
        expect((await store.list('Secret')).total).toBe(1)
        const filter = await rejection(store.list('Secret', { nameContains: 'a\u0000' }))
        expect(isMeshcaError(filter, 'INVALID')).toBe(true)
      } finally {
        await store.close()
      }
    })

    it('rejects an oversize spec, and a spec that is not a JSON object, storing nothing', async () => {
      const store = await harness().open({ maxSpecBytes: 64 * 1024 })
      try {
        const big = { blob: 'x'.repeat(64 * 1024) }
        const error = await rejection(store.create(secret('big'), big))
        expect(isMeshcaError(error, 'INVALID'), String(error)).toBe(true)
        expect((error as Error).message).toMatch(/^spec: is too large: \d+ bytes of JSON/)
        expect((error as Error).message).not.toContain('xxxx')
        const small = await store.create(secret('small'), { blob: 'x' })
        const update = await rejection(store.update(secret('small'), big, small.version))
        expect(isMeshcaError(update, 'INVALID')).toBe(true)
        // Multi-byte characters count as the bytes they take.
        const wide = await rejection(store.create(secret('wide'), { text: '€'.repeat(22_000) }))
        expect(isMeshcaError(wide, 'INVALID')).toBe(true)

        const notObjects: unknown[] = [[1, 2], 'text', null, 42]
        for (const spec of notObjects) {
          const notObject = await rejection(store.create(secret('odd'), spec as JsonObject))
          expect(isMeshcaError(notObject, 'INVALID'), String(notObject)).toBe(true)
        }
        const circular: Record<string, unknown> = {}
        circular.self = circular
        const cyclic = await rejection(store.create(secret('cyclic'), circular as JsonObject))
        expect(isMeshcaError(cyclic, 'INVALID')).toBe(true)
        expect((await store.list('Secret')).items.map((item) => item.name)).toEqual(['small'])
      } finally {
        await store.close()
      }
    })

    it('reports a row whose spec was corrupted by hand as CORRUPTED, naming the resource only', async () => {
      const h = harness()
      const store = await h.open()
      try {
        const key = secret('victim')
        const created = await store.create(key, { data: 'c2VjcmV0' })
        await store.create(secret('healthy'), { ok: true })
        const events: StoreEvent[] = []
        store.watch((event) => events.push(event))
        const table = `"${store.schema}".resources`
        await h.raw(
          `update ${table} set spec = '{"data": "c2VjcmV0", trailing' where name = 'victim'`
        )
        // The hand edit is a change like any other: a new version and an event.
        await waitFor(() => events.length === 1, 'the event of the hand edit')
        expect(events[0]).toEqual({ action: 'update', key })

        const onGet = await rejection(store.get(key))
        expect(isMeshcaError(onGet, 'CORRUPTED'), String(onGet)).toBe(true)
        expect((onGet as Error).message).toContain('"victim"')
        expect((onGet as Error).message).not.toContain('c2VjcmV0')
        const onList = await rejection(store.list('Secret'))
        expect(isMeshcaError(onList, 'CORRUPTED'), String(onList)).toBe(true)
        expect((await store.get(secret('healthy')))?.spec).toEqual({ ok: true })
        // A writer holding the version from before the hand edit no longer wins.
        const stale = await rejection(store.update(key, { data: 'bmV3' }, created.version))
        expect(isMeshcaError(stale, 'CONFLICT')).toBe(true)

        await h.raw(`update ${table} set spec = '[1, 2, 3]' where name = 'victim'`)
        expect(isMeshcaError(await rejection(store.get(key)), 'CORRUPTED')).toBe(true)
        await h.raw(`update ${table} set spec = 'null' where name = 'victim'`)
        expect(isMeshcaError(await rejection(store.get(key)), 'CORRUPTED')).toBe(true)

        // Deleting without a version repairs it.
        await store.delete(key)
        expect((await store.list('Secret')).total).toBe(1)
      } finally {
        await store.close()
      }
    })

    it('refuses a hand edit that changes the key of a row', async () => {
      const h = harness()
      const store = await h.open()
      try {
        await store.create(secret('fixed'), {})
        await expect(
          h.raw(`update "${store.schema}".resources set name = 'renamed' where name = 'fixed'`)
        ).rejects.toThrow(/cannot change/)
        expect(await store.get(secret('fixed'))).toBeDefined()
      } finally {
        await store.close()
      }
    })

    it('refuses a schema name that is not a plain identifier', async () => {
      for (const schema of ['Meshca', 'public', 'pg_meshca', 'a-b', 'x'.repeat(49), '', '"x"']) {
        const error = await rejection(
          driver === 'PGlite'
            ? createPgliteStore({ pglite, schema })
            : createPostgresStore({ url: server.url, schema })
        )
        expect(isMeshcaError(error, 'INVALID'), `${schema}: ${String(error)}`).toBe(true)
      }
    })
  })

  describe(`${driver}: the store's own writes`, () => {
    it('stamp and announce themselves once, as the triggers do for any other writer', async () => {
      const h = harness()
      const store = await h.open()
      // Another store on the same database and schema, as another instance (a server) or another
      // component of this process (PGlite) would open.
      const other = await h.open({ schema: store.schema })
      const watched: StoreEvent[] = []
      other.watch((event) => watched.push(event))
      const heard: Record<string, string>[] = []
      const unlisten = await h.listen(`${store.schema}.changes`, (payload) =>
        heard.push(JSON.parse(payload))
      )
      try {
        const key = secret('self')
        const created = await store.create(key, { n: 0 })
        const updated = await store.update(key, { n: 1 }, created.version)
        // One sequence value per write: the BEFORE UPDATE trigger did not stamp the row again.
        expect(BigInt(updated.version) - BigInt(created.version)).toBe(1n)
        expect(updated.modificationTime.getTime()).toBeGreaterThan(
          created.modificationTime.getTime()
        )
        expect(updated.creationTime.getTime()).toBe(created.creationTime.getTime())

        // A writer by hand, as psql, right after the store's writes in the same session on PGlite:
        // what the store's statements set ended with them, and the triggers stamp and announce.
        const table = `"${store.schema}".resources`
        await h.raw(`update ${table} set spec = '{"n":2}' where name = 'self'`)
        await h.raw(
          `insert into ${table} (type, mesh, name, spec) values ('Secret', 'default', 'typed', '{}')`
        )
        const versions = async (name: string) =>
          (
            await h.raw<{ version: string }>(`select version::text from ${table} where name = $1`, [
              name,
            ])
          )[0]?.version
        const edited = await versions('self')
        expect(BigInt(edited ?? '0')).toBeGreaterThan(BigInt(updated.version))
        await waitFor(() => watched.length === 4, 'four events')
        const typed = await versions('typed')
        // The same payload whoever wrote, one notification per write.
        const payload = (action: string, name: string, version: string | undefined) => ({
          seq: version,
          action,
          type: 'Secret',
          mesh: 'default',
          name,
          version,
        })
        const own = [
          payload('create', 'self', created.version),
          payload('update', 'self', updated.version),
        ]
        const byHand = [payload('update', 'self', edited), payload('create', 'typed', typed)]
        // On PGlite every listener of the store's is in this process, and the store hands them its
        // own writes' payloads itself instead of a NOTIFY: a LISTEN of one's own hears writes by SQL.
        expect(heard).toEqual(driver === 'PGlite' ? byHand : [...own, ...byHand])
        await sleep(50)
        expect(heard).toHaveLength(driver === 'PGlite' ? 2 : 4)
        expect(watched).toEqual([
          { action: 'create', key },
          { action: 'update', key },
          { action: 'update', key },
          { action: 'create', key: secret('typed') },
        ])
        // Identical notifications of one transaction are folded into one: what shows that the
        // store's writes skip the change trigger is its condition.
        const triggers = await h.raw<{ name: string; conditional: boolean }>(
          `select tgname as name, tgqual is not null as conditional from pg_trigger
           where tgrelid = '${table}'::regclass and not tgisinternal order by tgname`
        )
        expect(triggers).toEqual([
          { name: 'resources_record_change', conditional: true },
          { name: 'resources_record_delete', conditional: false },
          { name: 'resources_stamp_update', conditional: true },
        ])
      } finally {
        await unlisten()
        await other.close()
        await store.close()
      }
    })
  })

  describe(`${driver}: secrets`, () => {
    it('holds only ciphertext in the table, and the SecretManager reads the plaintext back', async () => {
      const h = harness()
      const store = await h.open()
      try {
        const secrets = createSecretManager({
          store,
          encryptionKey: generateEncryptionKey(),
          crypto: globalThis.crypto,
        })
        const plaintext = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n'
        const bytes = new TextEncoder().encode(plaintext)
        // As the builtin CA writes its key: through the control plane's own access.
        await secrets.system.create('default', 'default.ca-builtin-key-ca-1', bytes)

        const rows = await h.raw<{ spec: string; type: string }>(
          `select type, spec from "${store.schema}".resources`
        )
        expect(rows).toHaveLength(1)
        const stored = rows[0]?.spec ?? ''
        expect(stored).toMatch(/^\{"encrypted":"v1:[A-Za-z0-9+/]+=*"\}$/)
        expect(stored).not.toContain('PRIVATE KEY')
        expect(stored).not.toContain('MIIEvQIBADANBgkqhkiG9w0BAQEFAASC')
        expect(stored).not.toContain(btoa(plaintext).slice(0, 24))

        const read = await secrets.get('default', 'default.ca-builtin-key-ca-1')
        expect(new TextDecoder().decode(read?.data)).toBe(plaintext)
      } finally {
        await store.close()
      }
    })
  })

  describe(`${driver}: instance registry`, () => {
    it('knows the instances heard from recently, by the database clock, and forgets removed ones', async () => {
      const h = harness()
      const store = await h.open()
      try {
        await store.instances.heartbeat('cp-1')
        await store.instances.heartbeat('cp-2')
        expect([...(await store.instances.live(60_000))].sort()).toEqual(['cp-1', 'cp-2'])

        // cp-1 fell silent a minute ago, as a crashed instance would.
        await h.raw(
          `update "${store.schema}".instances set heartbeat_time = now() - interval '1 minute' where id = 'cp-1'`
        )
        expect([...(await store.instances.live(30_000))]).toEqual(['cp-2'])
        await store.instances.heartbeat('cp-1')
        expect((await store.instances.live(30_000)).has('cp-1')).toBe(true)

        await store.instances.remove('cp-2')
        expect([...(await store.instances.live(60_000))]).toEqual(['cp-1'])
      } finally {
        await store.close()
      }
    })
  })
}
