import '../polyfill.ts'
import { opensslChain } from '@meshca/test-support/openssl'
import { describe, expect, it } from 'vitest'
import { memoryCore } from '../../test/memory-core.ts'
import type { createMemoryStore } from '../adapters/memory-store.ts'
import { isMeshcaError } from '../errors.ts'
import { specFromJson } from '../resources/codec.ts'
import type { Resource } from '../resources/resource.ts'
import type { JsonObject } from '../resources/types.ts'
import { fromUtf8, toBase64, utf8 } from '../util/bytes.ts'
import { decodeInlineBase64, loadDataSource } from './data-source.ts'

const chain = opensslChain('ec')
const ROOT = { cert: chain.rootPem, key: chain.rootKeyPem }

function meshWith(name: string, key: JsonObject): Resource<'Mesh'> {
  return {
    type: 'Mesh',
    name,
    mesh: '',
    spec: specFromJson('Mesh', {
      mtls: {
        enabledBackend: 'ca-1',
        backends: [
          { name: 'ca-1', type: 'provided', conf: { cert: { inlineString: ROOT.cert }, key } },
        ],
      },
    }),
  }
}

async function storedKey(store: ReturnType<typeof createMemoryStore>, name: string) {
  const row = await store.get({ type: 'Mesh', mesh: '', name })
  const mtls = row?.spec.mtls as { backends: { conf: { key: Record<string, string> } }[] }
  return mtls.backends[0]?.conf.key ?? {}
}

describe('inline CA keys sealed at rest', () => {
  it.each([
    ['inlineString', ROOT.key],
    ['inline', toBase64(utf8(ROOT.key))],
  ])('stores %s sealed, keeps its kind, and loads the key back', async (field, value) => {
    const { store, core } = memoryCore()
    await core.meshes.create(meshWith('m', { [field]: value }))
    const key = await storedKey(store, 'm')
    expect(Object.keys(key)).toEqual([field])
    const text =
      field === 'inline' ? fromUtf8(decodeInlineBase64(key[field] ?? '') ?? utf8('')) : key[field]
    expect(text).toMatch(/^meshca-sealed:v1:[A-Za-z0-9+/=]+$/)
    expect(JSON.stringify(await store.get({ type: 'Mesh', mesh: '', name: 'm' }))).not.toContain(
      ROOT.key.split('\n')[1]
    )
    const loaded = await loadDataSource(core.ctx, 'm', { [field]: key[field] } as never)
    expect(fromUtf8(loaded)).toBe(ROOT.key)
  })

  it('does not seal twice, and an update that keeps the sealed value keeps it as it is', async () => {
    const { store, core } = memoryCore()
    await core.meshes.create(meshWith('m', { inlineString: ROOT.key }))
    const sealed = (await storedKey(store, 'm')).inlineString
    const stored = await core.meshes.get('m')
    if (stored === undefined) throw new Error('no mesh')
    await core.meshes.update({ ...stored, spec: { ...stored.spec } })
    expect((await storedKey(store, 'm')).inlineString).toBe(sealed)
  })

  it.each([
    ['inlineString', ROOT.key],
    ['inline', toBase64(utf8(ROOT.key))],
  ])(
    'keeps the stored %s when the manifest is applied again with the key itself',
    async (field, value) => {
      const { store, core } = memoryCore()
      await core.meshes.create(meshWith('m', { [field]: value }))
      const sealed = (await storedKey(store, 'm'))[field]
      const { mesh } = await core.meshes.update(meshWith('m', { [field]: value }))
      expect((await storedKey(store, 'm'))[field]).toBe(sealed)
      expect(JSON.stringify(mesh.spec.mtls)).toBe(
        JSON.stringify((await core.meshes.get('m'))?.spec.mtls)
      )
      // Another key is a change, sealed anew.
      const other = opensslChain('ec')
      const changed = meshWith('m', {
        [field]: field === 'inline' ? toBase64(utf8(other.rootKeyPem)) : other.rootKeyPem,
      })
      await core.meshes.update({ ...changed, spec: { ...changed.spec } }).catch(() => undefined)
      expect((await storedKey(store, 'm'))[field]).toBe(sealed)
    }
  )

  it('refuses a sealed value copied from another mesh as a violation, not an internal error', async () => {
    const { store, core } = memoryCore()
    await core.meshes.create(meshWith('a', { inlineString: ROOT.key }))
    const copied = (await storedKey(store, 'a')).inlineString ?? ''
    const error = await core.meshes
      .create(meshWith('b', { inlineString: copied }))
      .catch((e: unknown) => e)
    expect(isMeshcaError(error, 'INVALID')).toBe(true)
    // As any failure to load a provided CA's data, on both of its sources.
    const message =
      'could not load data: the sealed inline key cannot be decrypted: wrong encryption key or altered data'
    expect((error as { violations: unknown[] }).violations).toEqual([
      { field: 'mtls.backends[0].conf.cert', message },
      { field: 'mtls.backends[0].conf.key', message },
    ])
  })

  it('seals keys that stored Meshes hold in clear, once, and skips rows it cannot read', async () => {
    const logged: string[] = []
    const { store, core } = memoryCore({
      logger: {
        log: (_level, message, fields) => logged.push(`${message} ${String(fields?.mesh)}`),
      },
    })
    const clear = meshWith('clear', { inlineString: ROOT.key }).spec.mtls
    await store.create({ type: 'Mesh', mesh: '', name: 'broken' }, { mtls: 42 })
    await store.create({ type: 'Mesh', mesh: '', name: 'clear' }, { mtls: clear } as never)
    expect(await core.meshes.sealStoredInlineKeys()).toBe(1)
    expect((await storedKey(store, 'clear')).inlineString).toMatch(/^meshca-sealed:v1:/)
    expect(logged).toContain('inline CA keys of a Mesh not sealed broken')
    expect(await core.meshes.sealStoredInlineKeys()).toBe(0)
  })
})
