import { describe, expect, it } from 'vitest'
import { createMemoryStore } from '../adapters/memory-store.ts'
import type { Resource } from '../resources/resource.ts'
import { createResourceManager } from './resource-manager.ts'

const permission = (name: string, service: string): Resource<'TrafficPermission'> => ({
  type: 'TrafficPermission',
  mesh: 'default',
  name,
  spec: {
    sources: [{ match: { 'kuma.io/service': '*' } }],
    destinations: [{ match: { 'kuma.io/service': service } }],
    other: {},
  },
})

async function setup() {
  const store = createMemoryStore()
  await store.create({ type: 'Mesh', mesh: '', name: 'default' }, {})
  return { store, resources: createResourceManager(store) }
}

describe('ResourceManager reads', () => {
  it('hands readers of one version the same frozen resource', async () => {
    const { resources } = await setup()
    await resources.create(permission('p', 'web'))
    const first = await resources.get('TrafficPermission', 'default', 'p')
    const second = await resources.get('TrafficPermission', 'default', 'p')
    expect(second).toBe(first)
    expect(Object.isFrozen(first)).toBe(true)
    expect(Object.isFrozen(first?.spec.destinations[0]?.match)).toBe(true)
    const listed = await resources.list('TrafficPermission', { mesh: 'default' })
    expect(listed.items[0]).toBe(first)
  })

  it('shares Dates that no reader can change under another', async () => {
    const { resources } = await setup()
    const created = await resources.create(permission('p', 'web'))
    const at = created.meta?.creationTime.getTime()
    const first = await resources.get('TrafficPermission', 'default', 'p')
    expect(() => first?.meta?.creationTime.setTime(0)).toThrow(TypeError)
    expect(() => first?.meta?.modificationTime.setFullYear(1970)).toThrow(TypeError)
    const second = await resources.get('TrafficPermission', 'default', 'p')
    expect(second?.meta?.creationTime.getTime()).toBe(at)
    expect(second?.meta?.creationTime).toBeInstanceOf(Date)
    // What create returned is the caller's own: not shared, so not frozen.
    created.meta?.creationTime.setTime(0)
    expect(second?.meta?.creationTime.getTime()).toBe(at)
  })

  it('decodes a new version, whoever wrote it', async () => {
    const { store, resources } = await setup()
    const created = await resources.create(permission('p', 'web'))
    const before = await resources.get('TrafficPermission', 'default', 'p')
    // Written past the manager, as another instance sharing the database would.
    await store.update(
      { type: 'TrafficPermission', mesh: 'default', name: 'p' },
      {
        sources: [{ match: { 'kuma.io/service': '*' } }],
        destinations: [{ match: { 'kuma.io/service': 'api' } }],
      },
      created.meta?.version ?? ''
    )
    const after = await resources.get('TrafficPermission', 'default', 'p')
    expect(after).not.toBe(before)
    expect(after?.spec.destinations[0]?.match['kuma.io/service']).toBe('api')
    expect(before?.spec.destinations[0]?.match['kuma.io/service']).toBe('web')
  })

  it('never answers a resource deleted and created again with the old one', async () => {
    const { resources } = await setup()
    await resources.create(permission('p', 'web'))
    const old = await resources.get('TrafficPermission', 'default', 'p')
    await resources.delete('TrafficPermission', 'default', 'p')
    expect(await resources.get('TrafficPermission', 'default', 'p')).toBeUndefined()
    await resources.create(permission('p', 'api'))
    const recreated = await resources.get('TrafficPermission', 'default', 'p')
    expect(recreated).not.toBe(old)
    expect(recreated?.spec.destinations[0]?.match['kuma.io/service']).toBe('api')
  })
})
