import { afterEach, describe, expect, it } from 'vitest'
import type { ErrorCode, MeshcaError } from '../errors.ts'
import { isMeshcaError } from '../errors.ts'
import type { ListOptions, ListPage, Store, StoredResource, StoreEvent } from '../ports/store.ts'
import type { JsonObject, ResourceKey, ResourceType } from '../resources/types.ts'

export interface StoreContractOptions {
  /** A new, empty store for every test (for a database: its own schema or database). */
  readonly makeStore: () => Promise<Store>
  /**
   * Another store over the same data as `first`, as a second control plane process on the same
   * database would open. Omit when the adapter has no such thing; those tests are then skipped.
   */
  readonly makeSecondStore?: (first: Store) => Promise<Store>
}

/**
 * The behaviour every `Store` adapter must have. Each adapter's test file calls this once; the
 * memory, PGlite, PostgreSQL and Kubernetes stores are thereby held to the same suite.
 */
export function runStoreContract(name: string, options: StoreContractOptions): void {
  describe(`Store contract: ${name}`, () => {
    const opened: Store[] = []

    async function openStore(): Promise<Store> {
      const store = await options.makeStore()
      opened.push(store)
      return store
    }

    async function openPair(): Promise<[Store, Store]> {
      const makeSecond = options.makeSecondStore
      if (makeSecond === undefined) throw new Error('makeSecondStore is not given')
      const first = await openStore()
      const second = await makeSecond(first)
      opened.push(second)
      return [first, second]
    }

    afterEach(async () => {
      // Reverse order: a second instance closes before the store that owns the data.
      for (const store of opened.splice(0).reverse()) await store.close()
    })

    describe('create and get', () => {
      it('creates a mesh-scoped resource and reads it back', async () => {
        const store = await openStore()
        const key = secretKey('default', 'tls-cert')
        const created = await store.create(key, { data: 'c2VjcmV0' })
        expect(created).toMatchObject({ type: 'Secret', mesh: 'default', name: 'tls-cert' })
        expect(created.spec).toEqual({ data: 'c2VjcmV0' })
        expect(typeof created.version).toBe('string')
        expect(created.version).not.toBe('')
        expect(created.creationTime).toBeInstanceOf(Date)
        expect(created.modificationTime).toBeInstanceOf(Date)
        expect(await store.get(key)).toEqual(created)
      })

      it('creates a global resource, whose mesh is empty', async () => {
        const store = await openStore()
        const key = meshKey('default')
        const created = await store.create(key, { mtls: { enabledBackend: 'ca-1' } })
        expect(created).toMatchObject({ type: 'Mesh', mesh: '', name: 'default' })
        expect(await store.get(key)).toEqual(created)
      })

      it('returns undefined for a missing resource', async () => {
        const store = await openStore()
        await store.create(secretKey('default', 'present'), {})
        expect(await store.get(secretKey('default', 'absent'))).toBeUndefined()
        expect(await store.get(secretKey('other', 'present'))).toBeUndefined()
        expect(await store.get({ type: 'Dataplane', mesh: 'default', name: 'present' })).toBe(
          undefined
        )
      })

      it('keys resources by type, mesh and name together', async () => {
        const store = await openStore()
        const keys: ResourceKey[] = [
          secretKey('mesh-1', 'same'),
          secretKey('mesh-2', 'same'),
          { type: 'Dataplane', mesh: 'mesh-1', name: 'same' },
          { type: 'TrafficPermission', mesh: 'mesh-1', name: 'same' },
          { type: 'DataplaneInsight', mesh: 'mesh-1', name: 'same' },
          meshKey('same'),
          { type: 'MeshInsight', mesh: '', name: 'same' },
        ]
        for (const [index, key] of keys.entries()) await store.create(key, { index })
        for (const [index, key] of keys.entries()) {
          const found = await store.get(key)
          expect(found?.spec).toEqual({ index })
          expect(found).toMatchObject(key)
        }
      })

      it('accepts the dotted names of builtin CA secrets', async () => {
        const store = await openStore()
        const key = secretKey('default', 'default.ca-builtin-cert-ca-1')
        await store.create(key, { data: 'eA==' })
        expect((await store.get(key))?.name).toBe('default.ca-builtin-cert-ca-1')
      })

      it('refuses to create an existing resource and keeps the stored one', async () => {
        const store = await openStore()
        const key = secretKey('default', 'taken')
        const first = await store.create(key, { value: 'first' })
        await expectMeshcaError(store.create(key, { value: 'second' }), 'ALREADY_EXISTS')
        expect(await store.get(key)).toEqual(first)
      })

      it('lets exactly one of several concurrent creates of one key win', async () => {
        const store = await openStore()
        const key = secretKey('default', 'raced')
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, (_, writer) => store.create(key, { writer }))
        )
        const winners = fulfilled(results)
        expect(winners).toHaveLength(1)
        for (const reason of rejected(results)) expectCode(reason, 'ALREADY_EXISTS')
        expect((await store.get(key))?.spec).toEqual(winners[0]?.spec)
      })
    })

    describe('update', () => {
      it('replaces the spec and changes the version', async () => {
        const store = await openStore()
        const key = dataplaneKey('default', 'web-1')
        const created = await store.create(key, { port: 8080, tags: ['a'] })
        const updated = await store.update(key, { port: 9090 }, created.version)
        expect(updated.spec).toEqual({ port: 9090 })
        expect(updated.version).not.toBe(created.version)
        expect(await store.get(key)).toEqual(updated)
      })

      it('gives every write a version this resource never had before', async () => {
        const store = await openStore()
        const key = dataplaneKey('default', 'web-1')
        let current = await store.create(key, { n: 0 })
        const versions = [current.version]
        for (let n = 1; n <= 10; n++) {
          current = await store.update(key, { n }, current.version)
          versions.push(current.version)
        }
        expect(new Set(versions).size).toBe(versions.length)
      })

      it('refuses a stale version and keeps the stored resource', async () => {
        const store = await openStore()
        const key = dataplaneKey('default', 'web-1')
        const created = await store.create(key, { n: 0 })
        const updated = await store.update(key, { n: 1 }, created.version)
        await expectMeshcaError(store.update(key, { n: 2 }, created.version), 'CONFLICT')
        expect(await store.get(key)).toEqual(updated)
      })

      it('refuses a version it never gave', async () => {
        const store = await openStore()
        const key = dataplaneKey('default', 'web-1')
        const created = await store.create(key, { n: 0 })
        await expectMeshcaError(store.update(key, { n: 1 }, 'not-a-version'), 'CONFLICT')
        await expectMeshcaError(store.update(key, { n: 1 }, ''), 'CONFLICT')
        await expectMeshcaError(store.update(key, { n: 1 }, `${created.version}0`), 'CONFLICT')
        expect(await store.get(key)).toEqual(created)
      })

      it('reports a missing resource as NOT_FOUND', async () => {
        const store = await openStore()
        const created = await store.create(dataplaneKey('default', 'web-1'), {})
        await expectMeshcaError(
          store.update(dataplaneKey('default', 'web-2'), {}, created.version),
          'NOT_FOUND'
        )
        await expectMeshcaError(
          store.update(dataplaneKey('other', 'web-1'), {}, created.version),
          'NOT_FOUND'
        )
      })

      it('does not accept a version from before the resource was deleted and created again', async () => {
        const store = await openStore()
        const key = trafficPermissionKey('default', 'allow-all')
        const old = await store.create(key, { generation: 1 })
        await store.delete(key)
        const recreated = await store.create(key, { generation: 2 })
        expect(recreated.version).not.toBe(old.version)
        await expectMeshcaError(store.update(key, { generation: 3 }, old.version), 'CONFLICT')
        await expectMeshcaError(store.delete(key, old.version), 'CONFLICT')
        expect(await store.get(key)).toEqual(recreated)
      })

      it('lets exactly one of several concurrent updates with the same version win', async () => {
        const store = await openStore()
        const key = meshKey('default')
        const created = await store.create(key, { writer: -1 })
        const results = await Promise.allSettled(
          Array.from({ length: 12 }, (_, writer) => store.update(key, { writer }, created.version))
        )
        const winners = fulfilled(results)
        expect(winners).toHaveLength(1)
        for (const reason of rejected(results)) expectCode(reason, 'CONFLICT')
        expect(await store.get(key)).toEqual(winners[0])
      })

      it('never loses a write when writers retry read-modify-write on conflict', async () => {
        const store = await openStore()
        const key = meshInsightKey('default')
        await store.create(key, { count: 0 })
        const writers = 8
        const incrementsEach = 5
        await Promise.all(
          Array.from({ length: writers }, async () => {
            for (let i = 0; i < incrementsEach; i++) await increment(store, key)
          })
        )
        expect((await store.get(key))?.spec).toEqual({ count: writers * incrementsEach })
      })
    })

    describe('delete', () => {
      it('removes a resource without a version', async () => {
        const store = await openStore()
        const key = secretKey('default', 'gone')
        await store.create(key, {})
        await store.delete(key)
        expect(await store.get(key)).toBeUndefined()
      })

      it('removes a resource with its current version', async () => {
        const store = await openStore()
        const key = secretKey('default', 'gone')
        const created = await store.create(key, {})
        const updated = await store.update(key, { n: 1 }, created.version)
        await store.delete(key, updated.version)
        expect(await store.get(key)).toBeUndefined()
      })

      it('refuses a stale version and keeps the resource', async () => {
        const store = await openStore()
        const key = secretKey('default', 'kept')
        const created = await store.create(key, {})
        const updated = await store.update(key, { n: 1 }, created.version)
        await expectMeshcaError(store.delete(key, created.version), 'CONFLICT')
        expect(await store.get(key)).toEqual(updated)
      })

      it('reports a missing resource as NOT_FOUND', async () => {
        const store = await openStore()
        const key = secretKey('default', 'never')
        await expectMeshcaError(store.delete(key), 'NOT_FOUND')
        await store.create(key, {})
        await store.delete(key)
        await expectMeshcaError(store.delete(key), 'NOT_FOUND')
      })

      it('deletes only the resource named by all of type, mesh and name', async () => {
        const store = await openStore()
        const doomed = secretKey('mesh-1', 'same')
        const survivors: ResourceKey[] = [
          secretKey('mesh-2', 'same'),
          dataplaneKey('mesh-1', 'same'),
          meshKey('same'),
        ]
        for (const key of [doomed, ...survivors]) await store.create(key, {})
        await store.delete(doomed)
        expect(await store.get(doomed)).toBeUndefined()
        for (const key of survivors) expect(await store.get(key)).toBeDefined()
      })

      it('allows creating the resource again after deleting it', async () => {
        const store = await openStore()
        const key = secretKey('default', 'phoenix')
        await store.create(key, { life: 1 })
        await store.delete(key)
        const reborn = await store.create(key, { life: 2 })
        expect((await store.get(key))?.spec).toEqual({ life: 2 })
        expect(reborn.spec).toEqual({ life: 2 })
      })

      it('lets exactly one of several concurrent deletes succeed', async () => {
        const store = await openStore()
        const key = secretKey('default', 'contested')
        await store.create(key, {})
        const results = await Promise.allSettled(Array.from({ length: 6 }, () => store.delete(key)))
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
        for (const reason of rejected(results)) expectCode(reason, 'NOT_FOUND')
      })
    })

    describe('keys', () => {
      const badKeys: readonly {
        readonly why: string
        readonly key: ResourceKey
        readonly field: string
      }[] = [
        { why: 'an empty name', key: secretKey('default', ''), field: 'name' },
        { why: 'a mesh-scoped type without a mesh', key: secretKey('', 'x'), field: 'mesh' },
        {
          why: 'a global type with a mesh',
          key: { type: 'Mesh', mesh: 'default', name: 'x' },
          field: 'mesh',
        },
        {
          why: 'an unknown type',
          key: { type: 'Bogus' as string as ResourceType, mesh: '', name: 'x' },
          field: 'type',
        },
      ]

      for (const { why, key, field } of badKeys) {
        it(`rejects ${why} as INVALID at \`${field}\` in every operation`, async () => {
          const store = await openStore()
          await expectMeshcaError(store.get(key), 'INVALID', field)
          await expectMeshcaError(store.create(key, {}), 'INVALID', field)
          await expectMeshcaError(store.update(key, {}, '1'), 'INVALID', field)
          await expectMeshcaError(store.delete(key), 'INVALID', field)
        })
      }

      it('stores nothing for an invalid key', async () => {
        const store = await openStore()
        await expectMeshcaError(store.create(secretKey('', 'x'), {}), 'INVALID', 'mesh')
        await expectMeshcaError(store.create(meshKey(''), {}), 'INVALID', 'name')
        expect((await store.list('Secret')).total).toBe(0)
        expect((await store.list('Mesh')).total).toBe(0)
      })
    })

    describe('list', () => {
      it('gives an empty page for an empty store', async () => {
        const store = await openStore()
        const page = await store.list('Secret')
        expect(page.items).toEqual([])
        expect(page.total).toBe(0)
        expect(page.next).toBeUndefined()
      })

      it('lists only the asked type', async () => {
        const store = await openStore()
        await store.create(secretKey('default', 's1'), {})
        await store.create(dataplaneKey('default', 'd1'), {})
        await store.create(meshKey('default'), {})
        expect(names(await store.list('Secret'))).toEqual(['default/s1'])
        expect(names(await store.list('Dataplane'))).toEqual(['default/d1'])
        expect(names(await store.list('Mesh'))).toEqual(['/default'])
        expect((await store.list('TrafficPermission')).total).toBe(0)
      })

      it('orders items by mesh, then name, in code point order across meshes', async () => {
        const store = await openStore()
        // Expected order written out, not computed: punctuation sorts by code point
        // (- . 0 _ b), which locale collations get wrong.
        const expected = [
          'a/a',
          'a/a-b',
          'a/a.b',
          'a/a0',
          'a/a_b',
          'a/ab',
          'a/z',
          'a-b/a',
          'b/a',
          'b/b',
        ]
        for (const id of shuffled(expected)) {
          const [mesh = '', name = ''] = id.split('/')
          await store.create(secretKey(mesh, name), {})
        }
        expect(names(await store.list('Secret'))).toEqual(expected)
        const paged: string[] = []
        await walk(store, 'Secret', { size: 3 }, (page) => {
          paged.push(...names(page))
        })
        expect(paged).toEqual(expected)
      })

      it('returns full resources, identical to what get returns', async () => {
        const store = await openStore()
        const key = dataplaneKey('default', 'web')
        const created = await store.create(key, { networking: { address: '10.0.0.1' } })
        const updated = await store.update(
          key,
          { networking: { address: '10.0.0.2' } },
          created.version
        )
        const page = await store.list('Dataplane')
        expect(page.items).toEqual([updated])
      })

      it('filters by mesh, counting only that mesh', async () => {
        const store = await openStore()
        for (const mesh of ['alpha', 'beta', 'gamma']) {
          for (const name of ['one', 'two', 'three']) await store.create(secretKey(mesh, name), {})
        }
        const page = await store.list('Secret', { mesh: 'beta' })
        expect(names(page)).toEqual(['beta/one', 'beta/three', 'beta/two'])
        expect(page.total).toBe(3)
        expect((await store.list('Secret', { mesh: 'delta' })).total).toBe(0)
        expect((await store.list('Secret')).total).toBe(9)
      })

      it('filters by a literal, case-sensitive name substring', async () => {
        const store = await openStore()
        for (const name of ['web_1', 'web-1', 'webx1', 'api_web', 'Web_2', 'db.web', 'db%1']) {
          await store.create(secretKey('default', name), {})
        }
        await store.create(secretKey('other', 'web_9'), {})
        const underscore = await store.list('Secret', { nameContains: '_' })
        // `_` and `%` are wildcards in SQL LIKE: an adapter must match them literally.
        expect(names(underscore)).toEqual([
          'default/Web_2',
          'default/api_web',
          'default/web_1',
          'other/web_9',
        ])
        expect(underscore.total).toBe(4)
        expect(names(await store.list('Secret', { nameContains: '%' }))).toEqual(['default/db%1'])
        expect(names(await store.list('Secret', { nameContains: 'web', mesh: 'default' }))).toEqual(
          ['default/api_web', 'default/db.web', 'default/web-1', 'default/web_1', 'default/webx1']
        )
        expect(names(await store.list('Secret', { nameContains: 'b.w' }))).toEqual([
          'default/db.web',
        ])
        expect((await store.list('Secret', { nameContains: 'WEB' })).total).toBe(0)
        expect((await store.list('Secret', { nameContains: 'web_1' })).total).toBe(1)
      })

      it('pages 100 items by default', async () => {
        const store = await openStore()
        const expected = await createMany(store, 'default', 150)
        const first = await store.list('Secret')
        expect(first.items).toHaveLength(100)
        expect(first.total).toBe(150)
        expect(first.next).toBeDefined()
        const second = await store.list('Secret', { offset: first.next ?? '' })
        expect(second.items).toHaveLength(50)
        expect(second.total).toBe(150)
        expect(second.next).toBeUndefined()
        expect([...names(first), ...names(second)]).toEqual(expected)
      })

      it('walks 2,500 items in pages of 1,000 without duplicates or misses', async () => {
        const store = await openStore()
        const half = await createMany(store, 'mesh-a', 1250)
        const otherHalf = await createMany(store, 'mesh-b', 1250)
        const expected = [...half, ...otherHalf]
        const seen: string[] = []
        const sizes: number[] = []
        const pages = await walk(store, 'Secret', { size: 1000 }, (page) => {
          expect(page.total).toBe(2500)
          sizes.push(page.items.length)
          seen.push(...names(page))
        })
        expect(pages).toBe(3)
        expect(sizes).toEqual([1000, 1000, 500])
        expect(new Set(seen).size).toBe(seen.length)
        expect(seen).toEqual(expected)
      })

      it('ends on the last full page without an empty page after it', async () => {
        const store = await openStore()
        await createMany(store, 'default', 4)
        const first = await store.list('Secret', { size: 2 })
        expect(first.next).toBeDefined()
        const second = await store.list('Secret', { size: 2, offset: first.next ?? '' })
        expect(second.items).toHaveLength(2)
        expect(second.next).toBeUndefined()
      })

      it('pages filtered results, with the filtered total on every page', async () => {
        const store = await openStore()
        await createMany(store, 'default', 30)
        await createMany(store, 'other', 30)
        const seen: string[] = []
        const pages = await walk(
          store,
          'Secret',
          { mesh: 'other', nameContains: '1', size: 4 },
          (page) => {
            expect(page.total).toBe(12)
            seen.push(...names(page))
          }
        )
        expect(pages).toBe(3)
        expect(seen).toEqual([
          'other/item-0001',
          'other/item-0010',
          'other/item-0011',
          'other/item-0012',
          'other/item-0013',
          'other/item-0014',
          'other/item-0015',
          'other/item-0016',
          'other/item-0017',
          'other/item-0018',
          'other/item-0019',
          'other/item-0021',
        ])
      })

      it('accepts page sizes from 1 to 1000', async () => {
        const store = await openStore()
        await createMany(store, 'default', 3)
        expect((await store.list('Secret', { size: 1 })).items).toHaveLength(1)
        expect((await store.list('Secret', { size: 1000 })).items).toHaveLength(3)
      })

      it("rejects a page size over 1000 with Kuma's message", async () => {
        const store = await openStore()
        const error = await expectMeshcaError(
          store.list('Secret', { size: 2000 }),
          'INVALID',
          'size'
        )
        expect(error.violations).toEqual([
          { field: 'size', message: 'Invalid page size of 2000. Maximum page size is 1000' },
        ])
        const justOver = await expectMeshcaError(store.list('Secret', { size: 1001 }), 'INVALID')
        expect(justOver.violations).toEqual([
          { field: 'size', message: 'Invalid page size of 1001. Maximum page size is 1000' },
        ])
      })

      it('rejects a page size under 1 or not an integer', async () => {
        const store = await openStore()
        for (const size of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
          await expectMeshcaError(store.list('Secret', { size }), 'INVALID', 'size')
        }
      })

      it('rejects an offset it did not make', async () => {
        const store = await openStore()
        await createMany(store, 'default', 5)
        for (const offset of ['not an offset', '%%%', '-1', '1.5', '{}', '["default"]', '\u0000']) {
          const error = await expectMeshcaError(
            store.list('Secret', { size: 2, offset }),
            'INVALID',
            'offset'
          )
          expect(error.violations).toContainEqual({ field: 'offset', message: 'Invalid format' })
        }
      })

      it('reads an empty offset as the first page, as Kuma does', async () => {
        const store = await openStore()
        await createMany(store, 'default', 3)
        expect(names(await store.list('Secret', { offset: '', size: 2 }))).toEqual(
          names(await store.list('Secret', { size: 2 }))
        )
      })

      it('sees every item that exists throughout a walk exactly once, whatever changes between pages', async () => {
        const store = await openStore()
        const initial = await createMany(store, 'default', 20)
        const seen: string[] = []
        let pageNumber = 0
        await walk(store, 'Secret', { size: 5 }, async (page) => {
          seen.push(...names(page))
          pageNumber += 1
          if (pageNumber === 1) {
            // Remove an item already returned and one not yet returned; add one on each side.
            await store.delete(secretKey('default', 'item-0002'))
            await store.delete(secretKey('default', 'item-0012'))
            await store.create(secretKey('default', 'item-0000a'), {})
            await store.create(secretKey('default', 'item-0017a'), {})
          }
        })
        expect(new Set(seen).size).toBe(seen.length)
        const throughout = initial.filter(
          (id) => id !== 'default/item-0002' && id !== 'default/item-0012'
        )
        for (const id of throughout) expect(seen).toContain(id)
        expect(seen).toContain('default/item-0017a')
        expect(seen).not.toContain('default/item-0012')
      })
    })

    describe('timestamps', () => {
      it('sets creation and modification times to the time of creation', async () => {
        const store = await openStore()
        const before = Date.now()
        const created = await store.create(secretKey('default', 'timed'), {})
        const after = Date.now()
        expect(created.modificationTime.getTime()).toBe(created.creationTime.getTime())
        // A database server's clock may differ a little from ours.
        expect(created.creationTime.getTime()).toBeGreaterThanOrEqual(before - CLOCK_SKEW_MS)
        expect(created.creationTime.getTime()).toBeLessThanOrEqual(after + CLOCK_SKEW_MS)
      })

      it('keeps the creation time and advances the modification time on update', async () => {
        const store = await openStore()
        const key = secretKey('default', 'timed')
        const created = await store.create(key, { n: 0 })
        await sleep(25)
        const updated = await store.update(key, { n: 1 }, created.version)
        expect(updated.creationTime.getTime()).toBe(created.creationTime.getTime())
        expect(updated.modificationTime.getTime()).toBeGreaterThan(
          created.modificationTime.getTime()
        )
        const read = await store.get(key)
        expect(read?.creationTime.getTime()).toBe(created.creationTime.getTime())
        expect(read?.modificationTime.getTime()).toBe(updated.modificationTime.getTime())
      })

      it('hands out Dates that callers can change without changing the store', async () => {
        const store = await openStore()
        const key = secretKey('default', 'timed')
        const created = await store.create(key, {})
        const original = created.creationTime.getTime()
        created.creationTime.setTime(0)
        created.modificationTime.setTime(0)
        const read = await store.get(key)
        expect(read?.creationTime.getTime()).toBe(original)
        read?.creationTime.setTime(0)
        const listed = (await store.list('Secret')).items[0]
        expect(listed?.creationTime.getTime()).toBe(original)
        expect(listed?.modificationTime.getTime()).toBe(original)
      })

      it('gives every reader Dates of its own, also readers of one version at once', async () => {
        const store = await openStore()
        const key = secretKey('default', 'timed-shared')
        const created = await store.create(key, { n: 0 })
        const original = created.creationTime.getTime()
        // Reads that run together may share a query, and a store may keep what it read: neither
        // may let one reader's change of a Date reach another reader.
        const [first, second] = await Promise.all([store.get(key), store.get(key)])
        first?.creationTime.setTime(0)
        first?.modificationTime.setTime(0)
        expect(second?.creationTime.getTime()).toBe(original)
        expect(second?.modificationTime.getTime()).toBe(original)
        const later = await store.get(key)
        expect(later?.creationTime.getTime()).toBe(original)
        expect(later?.modificationTime.getTime()).toBe(original)
        later?.creationTime.setTime(0)
        const again = await store.get(key)
        expect(again?.creationTime.getTime()).toBe(original)
      })
    })

    describe('specs', () => {
      it('returns a spec exactly as JSON gave it, through create, get, list and update', async () => {
        const store = await openStore()
        const key = meshKey('round-trip')
        const created = await store.create(key, richSpec())
        expect(created.spec).toEqual(richSpec())
        expect((await store.get(key))?.spec).toEqual(richSpec())
        expect((await store.list('Mesh')).items[0]?.spec).toEqual(richSpec())
        const changed = { ...richSpec(), extra: ['more', { unicode: '✓' }] }
        const updated = await store.update(key, changed, created.version)
        expect(updated.spec).toEqual(changed)
        expect((await store.get(key))?.spec).toEqual(changed)
      })

      it('keeps numbers exact', async () => {
        const store = await openStore()
        const key = meshKey('numbers')
        const numbers = richSpec().numbers
        await store.create(key, { numbers: numbers ?? null })
        const read = await store.get(key)
        expect(JSON.stringify(read?.spec.numbers)).toBe(JSON.stringify(numbers))
      })

      it('is not changed by changes the caller makes to what it passed or received', async () => {
        const store = await openStore()
        const key = trafficPermissionKey('default', 'isolated')
        const input = { sources: [{ match: { service: 'a' } }], nested: { list: [1, 2] } }
        const created = await store.create(key, input)
        input.sources.push({ match: { service: 'injected' } })
        input.nested.list.push(3)
        mutate(created.spec)
        const read = await store.get(key)
        expect(read?.spec).toEqual({
          sources: [{ match: { service: 'a' } }],
          nested: { list: [1, 2] },
        })
        if (read !== undefined) mutate(read.spec)
        expect((await store.get(key))?.spec).toEqual({
          sources: [{ match: { service: 'a' } }],
          nested: { list: [1, 2] },
        })
        const listed = (await store.list('TrafficPermission')).items[0]
        expect(listed?.spec).toEqual({
          sources: [{ match: { service: 'a' } }],
          nested: { list: [1, 2] },
        })
        if (listed !== undefined) mutate(listed.spec)

        const updateInput = { nested: { list: [7] } }
        const updated = await store.update(key, updateInput, created.version)
        updateInput.nested.list.push(8)
        mutate(updated.spec)
        expect((await store.get(key))?.spec).toEqual({ nested: { list: [7] } })
      })
    })

    describe('watch', () => {
      it('delivers create, update and delete events in order', async () => {
        const store = await openStore()
        const events: StoreEvent[] = []
        const unsubscribe = store.watch((event) => events.push(event))
        const key = secretKey('default', 'watched')
        const created = await store.create(key, {})
        await store.update(key, { n: 1 }, created.version)
        await store.delete(key)
        await waitFor(() => events.length >= 3, 'three events')
        expect(events).toEqual([
          { action: 'create', key },
          { action: 'update', key },
          { action: 'delete', key },
        ])
        unsubscribe()
      })

      it('delivers only the watched types', async () => {
        const store = await openStore()
        const events: StoreEvent[] = []
        store.watch((event) => events.push(event), { types: ['Mesh', 'Dataplane'] })
        await store.create(secretKey('default', 'ignored'), {})
        await store.create(meshKey('default'), {})
        await store.create(trafficPermissionKey('default', 'ignored'), {})
        await store.create(dataplaneKey('default', 'dp'), {})
        await waitFor(() => events.some((e) => e.key.type === 'Dataplane'), 'the Dataplane event')
        expect(events).toEqual([
          { action: 'create', key: meshKey('default') },
          { action: 'create', key: dataplaneKey('default', 'dp') },
        ])
      })

      it('delivers to every listener, and no longer to one that unsubscribed', async () => {
        const store = await openStore()
        const first: StoreEvent[] = []
        const second: StoreEvent[] = []
        const unsubscribeFirst = store.watch((event) => first.push(event))
        store.watch((event) => second.push(event))
        await store.create(secretKey('default', 'one'), {})
        await waitFor(() => first.length === 1 && second.length === 1, 'both listeners')
        unsubscribeFirst()
        unsubscribeFirst()
        await store.create(secretKey('default', 'two'), {})
        await waitFor(() => second.length === 2, 'the remaining listener')
        expect(first.map((e) => e.key.name)).toEqual(['one'])
        expect(second.map((e) => e.key.name)).toEqual(['one', 'two'])
      })

      it('sends no event for a write that failed', async () => {
        const store = await openStore()
        const key = secretKey('default', 'contended')
        const created = await store.create(key, {})
        await store.update(key, { n: 1 }, created.version)
        const events: StoreEvent[] = []
        store.watch((event) => events.push(event))
        await expectMeshcaError(store.create(key, {}), 'ALREADY_EXISTS')
        await expectMeshcaError(store.update(key, {}, created.version), 'CONFLICT')
        await expectMeshcaError(store.delete(key, created.version), 'CONFLICT')
        await expectMeshcaError(store.delete(secretKey('default', 'absent')), 'NOT_FOUND')
        await store.create(secretKey('default', 'marker'), {})
        await waitFor(() => events.some((e) => e.key.name === 'marker'), 'the marker event')
        expect(events).toEqual([{ action: 'create', key: secretKey('default', 'marker') }])
      })

      it('keeps delivering to other listeners when one throws', async () => {
        const store = await openStore()
        const events: StoreEvent[] = []
        store.watch(() => {
          throw new Error('listener failure (expected by the test)')
        })
        store.watch((event) => events.push(event))
        await store.create(secretKey('default', 'one'), {})
        await store.create(secretKey('default', 'two'), {})
        await waitFor(() => events.length === 2, 'two events')
        expect((await store.get(secretKey('default', 'two')))?.name).toBe('two')
      })
    })

    describe.skipIf(options.makeSecondStore === undefined)('two instances on the same data', () => {
      it('reads what the other wrote, and accepts its versions', async () => {
        const [first, second] = await openPair()
        const key = secretKey('default', 'shared')
        const created = await first.create(key, { by: 'first' })
        expect(await second.get(key)).toEqual(created)
        const updated = await second.update(key, { by: 'second' }, created.version)
        expect(await first.get(key)).toEqual(updated)
        await expectMeshcaError(first.update(key, {}, created.version), 'CONFLICT')
        await expectMeshcaError(second.create(key, {}), 'ALREADY_EXISTS')
        await first.delete(key, updated.version)
        expect(await second.get(key)).toBeUndefined()
      })

      it('lists at once what the other wrote, whatever it read by key before', async () => {
        const [first, second] = await openPair()
        const deleted = meshKey('deleted')
        const added = meshKey('added')
        await first.create(deleted, {})
        // Read by key, so that an instance with a read cache holds the row and the absence.
        expect(await second.get(deleted)).toBeDefined()
        expect(await second.get(added)).toBeUndefined()
        await first.delete(deleted)
        await first.create(added, {})
        expect((await second.list('Mesh')).items.map((item) => item.name)).toEqual(['added'])
      })

      it('lets exactly one of concurrent updates through both instances win', async () => {
        const [first, second] = await openPair()
        const key = meshKey('default')
        const created = await first.create(key, { writer: -1 })
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, (_, writer) =>
            (writer % 2 === 0 ? first : second).update(key, { writer }, created.version)
          )
        )
        expect(fulfilled(results)).toHaveLength(1)
        for (const reason of rejected(results)) expectCode(reason, 'CONFLICT')
      })

      it('never loses a write when writers on both instances retry on conflict', async () => {
        const [first, second] = await openPair()
        const key = meshInsightKey('default')
        await first.create(key, { count: 0 })
        await Promise.all(
          Array.from({ length: 6 }, async (_, writer) => {
            for (let i = 0; i < 4; i++) await increment(writer % 2 === 0 ? first : second, key)
          })
        )
        expect((await second.get(key))?.spec).toEqual({ count: 24 })
      })

      it('delivers to each instance the events of writes made through the other', async () => {
        const [first, second] = await openPair()
        const onFirst: StoreEvent[] = []
        const onSecond: StoreEvent[] = []
        first.watch((event) => onFirst.push(event), { types: ['Secret'] })
        second.watch((event) => onSecond.push(event), { types: ['Secret'] })
        const key = secretKey('default', 'crossing')
        const created = await first.create(key, {})
        await first.create(meshKey('default'), {})
        await second.update(key, { n: 1 }, created.version)
        await first.delete(key)
        const expected: StoreEvent[] = [
          { action: 'create', key },
          { action: 'update', key },
          { action: 'delete', key },
        ]
        await waitFor(() => onFirst.length >= 3 && onSecond.length >= 3, 'events on both instances')
        expect(onFirst).toEqual(expected)
        expect(onSecond).toEqual(expected)
      })

      it('stops the watchers of a closed instance and leaves the other working', async () => {
        const [first, second] = await openPair()
        const onFirst: StoreEvent[] = []
        const onSecond: StoreEvent[] = []
        first.watch((event) => onFirst.push(event))
        second.watch((event) => onSecond.push(event))
        await first.create(secretKey('default', 'before'), {})
        await waitFor(() => onFirst.length === 1 && onSecond.length === 1, 'the first event')
        await first.close()
        await second.create(secretKey('default', 'after'), {})
        await waitFor(() => onSecond.length === 2, 'the second event')
        expect(onFirst.map((e) => e.key.name)).toEqual(['before'])
        expect((await second.list('Secret')).total).toBe(2)
      })
    })

    describe('close', () => {
      it('rejects every later call with STORE_UNAVAILABLE', async () => {
        const store = await openStore()
        const key = secretKey('default', 'x')
        const created = await store.create(key, {})
        await store.close()
        await expectMeshcaError(store.get(key), 'STORE_UNAVAILABLE')
        await expectMeshcaError(store.list('Secret'), 'STORE_UNAVAILABLE')
        await expectMeshcaError(store.create(secretKey('default', 'y'), {}), 'STORE_UNAVAILABLE')
        await expectMeshcaError(store.update(key, {}, created.version), 'STORE_UNAVAILABLE')
        await expectMeshcaError(store.delete(key), 'STORE_UNAVAILABLE')
        let thrown: unknown
        try {
          store.watch(() => {})
        } catch (error) {
          thrown = error
        }
        expectCode(thrown, 'STORE_UNAVAILABLE')
      })

      it('can be called twice', async () => {
        const store = await openStore()
        await store.close()
        await expect(store.close()).resolves.toBeUndefined()
      })
    })
  })
}

/** Tolerance between this process's clock and a database server's. */
const CLOCK_SKEW_MS = 5 * 60_000

function secretKey(mesh: string, name: string): ResourceKey {
  return { type: 'Secret', mesh, name }
}

function dataplaneKey(mesh: string, name: string): ResourceKey {
  return { type: 'Dataplane', mesh, name }
}

function trafficPermissionKey(mesh: string, name: string): ResourceKey {
  return { type: 'TrafficPermission', mesh, name }
}

function meshKey(name: string): ResourceKey {
  return { type: 'Mesh', mesh: '', name }
}

function meshInsightKey(name: string): ResourceKey {
  return { type: 'MeshInsight', mesh: '', name }
}

function names(page: { readonly items: readonly StoredResource[] }): string[] {
  return page.items.map((item) => `${item.mesh}/${item.name}`)
}

/** Creates `item-0000`… in `mesh`, in a scrambled order; returns their ids in list order. */
async function createMany(store: Store, mesh: string, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => `item-${String(i).padStart(4, '0')}`)
  const batch = 50
  const order = shuffled(ids)
  for (let i = 0; i < order.length; i += batch) {
    await Promise.all(
      order.slice(i, i + batch).map((name) => store.create(secretKey(mesh, name), { name }))
    )
  }
  return ids.map((name) => `${mesh}/${name}`)
}

/** Follows `next` to the end; returns the number of pages. */
async function walk(
  store: Store,
  type: ResourceType,
  options: ListOptions,
  onPage: (page: ListPage) => void | Promise<void>
): Promise<number> {
  let offset: string | undefined
  let pages = 0
  for (;;) {
    const page = await store.list(type, offset === undefined ? options : { ...options, offset })
    pages += 1
    await onPage(page)
    if (page.next === undefined) return pages
    expect(page.next).not.toBe(offset)
    offset = page.next
    if (pages > 10_000) throw new Error('the walk does not end')
  }
}

async function increment(store: Store, key: ResourceKey): Promise<void> {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const current = await store.get(key)
    if (current === undefined) throw new Error('the counter disappeared')
    try {
      await store.update(key, { count: Number(current.spec.count) + 1 }, current.version)
      return
    } catch (error) {
      if (!isMeshcaError(error, 'CONFLICT')) throw error
    }
  }
  throw new Error('gave up after 1000 conflicts')
}

function richSpec(): JsonObject {
  return {
    text: 'plain',
    empty: '',
    unicode: 'héllo wörld — 你好 — Привет — مرحبا — 🔐🚀👩‍👩‍👧 — e\u0301 — \u{10FFFF}',
    escapes:
      'quote " backslash \\ newline \n return \r tab \t control \u0001\u001f slash / </script>',
    numbers: {
      integer: 42,
      negative: -17,
      zero: 0,
      float: 0.1 + 0.2,
      tiny: 1e-7,
      huge: 1.7976931348623157e308,
      maxSafe: Number.MAX_SAFE_INTEGER,
      minSafe: Number.MIN_SAFE_INTEGER,
      negativeFloat: -0.5,
    },
    yes: true,
    no: false,
    nothing: null,
    emptyObject: {},
    emptyArray: [],
    mixed: [1, 'two', false, null, { three: [3] }, [[]], [{}]],
    nested: { level1: { level2: { level3: { level4: ['deep', { deeper: true }] } } } },
    'key.with.dots': 1,
    'key with spaces': 2,
    ключ: 3,
    '': 'empty key',
    '🔑': 'emoji key',
  }
}

/**
 * Writes through a value the types call read-only, as a careless caller might. A store may hand out frozen values it shares between
 * readers (the port allows it): then every change must fail instead of reaching other readers.
 */
function mutate(spec: JsonObject): void {
  if (Object.isFrozen(spec)) {
    expect(() => mutateFreely(spec)).toThrow(TypeError)
    return
  }
  mutateFreely(spec)
}

function mutateFreely(spec: JsonObject): void {
  const target = spec as Record<string, unknown>
  for (const field of Object.keys(target)) {
    const value = target[field]
    if (Array.isArray(value)) value.push('mutated')
    else if (typeof value === 'object' && value !== null) mutateFreely(value as JsonObject)
  }
  target.mutated = true
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items]
  // Deterministic, so that a failure reproduces.
  let seed = 0x9e3779b9
  for (let i = copy.length - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1_664_525) + 1_013_904_223) >>> 0
    const j = seed % (i + 1)
    const a = copy[i] as T
    copy[i] = copy[j] as T
    copy[j] = a
  }
  return copy
}

function fulfilled<T>(results: readonly PromiseSettledResult<T>[]): T[] {
  return results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
}

function rejected(results: readonly PromiseSettledResult<unknown>[]): unknown[] {
  return results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []))
}

function expectCode(error: unknown, code: ErrorCode): asserts error is MeshcaError {
  if (!isMeshcaError(error)) {
    expect.fail(`expected a MeshcaError ${code}, got ${String(error)}`)
  }
  expect(error.code, error.message).toBe(code)
}

async function expectMeshcaError(
  action: Promise<unknown>,
  code: ErrorCode,
  field?: string
): Promise<MeshcaError> {
  let outcome: { readonly error: unknown } | undefined
  try {
    await action
  } catch (error) {
    outcome = { error }
  }
  if (outcome === undefined) return expect.fail(`expected a rejection with ${code}`)
  const error = outcome.error
  expectCode(error, code)
  if (field !== undefined) expect(error.violations.map((v) => v.field)).toContain(field)
  return error
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
