import { describe, expect, it } from 'vitest'
import { createMemoryStore } from '../adapters/memory-store.ts'
import type { Clock, Logger, LogLevel } from '../ports/runtime.ts'
import type { Store } from '../ports/store.ts'
import type { ResourceType } from '../resources/types.ts'
import { DEFAULT_ORPHAN_GRACE_MS, sweepOrphans } from './orphan-sweep.ts'

function testClock(): Clock & { advance(ms: number): void } {
  let now = Date.parse('2026-01-01T00:00:00Z')
  return { now: () => new Date(now), advance: (ms) => (now += ms) }
}

function setup() {
  const clock = testClock()
  const store = createMemoryStore({ clock })
  const logged: { level: LogLevel; message: string; fields: Record<string, unknown> }[] = []
  const logger: Logger = {
    log: (level, message, fields = {}) => logged.push({ level, message, fields }),
  }
  const write = (type: ResourceType, mesh: string, name: string) =>
    store.create({ type, mesh, name }, {})
  const sweep = (graceMs?: number) =>
    sweepOrphans({ store, clock, logger, ...(graceMs === undefined ? {} : { graceMs }) })
  const all = async (s: Store = store) => {
    const rows: string[] = []
    for (const type of ['Secret', 'Dataplane', 'DataplaneInsight', 'TrafficPermission'] as const) {
      rows.push(...(await s.list(type)).items.map((i) => `${type} ${i.mesh}/${i.name}`))
    }
    return rows.sort()
  }
  return { clock, store, logged, write, sweep, all }
}

describe('sweepOrphans', () => {
  it('removes what a mesh that does not exist left, once the grace period is over', async () => {
    const s = setup()
    await s.write('Mesh', '', 'kept')
    await s.write('Secret', 'kept', 'kept.ca-builtin-key-ca-1')
    await s.write('Secret', 'gone', 'gone.ca-builtin-cert-ca-1')
    await s.write('Secret', 'gone', 'gone.ca-builtin-key-ca-1')
    await s.write('Dataplane', 'gone', 'web-1')
    await s.write('TrafficPermission', 'gone', 'allow-all-gone')
    // The control plane's own Secrets sit under a name no Mesh can have.
    await s.write('Secret', 'meshca.system', 'user-token-signing-key')

    s.clock.advance(DEFAULT_ORPHAN_GRACE_MS - 1)
    expect(await s.sweep()).toEqual({ removed: [] })

    s.clock.advance(2)
    expect((await s.sweep()).removed).toEqual([
      'Secret gone/gone.ca-builtin-cert-ca-1',
      'Secret gone/gone.ca-builtin-key-ca-1',
      'Dataplane gone/web-1',
      'TrafficPermission gone/allow-all-gone',
    ])
    expect(await s.all()).toEqual([
      'Secret kept/kept.ca-builtin-key-ca-1',
      'Secret meshca.system/user-token-signing-key',
    ])
    expect(s.logged).toEqual([
      {
        level: 'info',
        message: 'removed resources of a mesh that does not exist',
        fields: { mesh: 'gone', count: 4 },
      },
    ])
  })

  it('leaves the CA of a mesh being created, written before its Mesh', async () => {
    const s = setup()
    // MeshManager.create: the CA first, the Mesh a moment later (here: most of the grace later).
    await s.write('Secret', 'new', 'new.ca-builtin-cert-ca-1')
    await s.write('Secret', 'new', 'new.ca-builtin-key-ca-1')
    s.clock.advance(DEFAULT_ORPHAN_GRACE_MS - 1000)
    expect(await s.sweep()).toEqual({ removed: [] })
    await s.write('Mesh', '', 'new')
    s.clock.advance(10 * DEFAULT_ORPHAN_GRACE_MS)
    expect(await s.sweep()).toEqual({ removed: [] })
    expect(await s.all()).toHaveLength(2)
  })

  it('counts the grace from the last change of each row', async () => {
    const s = setup()
    const created = await s.write('Secret', 'gone', 'touched')
    await s.write('Secret', 'gone', 'untouched')
    s.clock.advance(1000)
    await s.store.update(created, {}, created.version)
    s.clock.advance(1000)
    expect((await s.sweep(1500)).removed).toEqual(['Secret gone/untouched'])
    s.clock.advance(1000)
    expect((await s.sweep(1500)).removed).toEqual(['Secret gone/touched'])
  })

  it('leaves the rows of a mesh created while it sweeps', async () => {
    const s = setup()
    await s.write('Secret', 'late', 'late.ca-builtin-key-ca-1')
    s.clock.advance(2 * DEFAULT_ORPHAN_GRACE_MS)
    // The Mesh appears after the sweep listed the Meshes and before it deletes: a create that
    // took the old Secrets as its own (they are old enough to be orphans).
    let created = false
    const racing: Store = {
      ...s.store,
      list: async (type, options) => {
        if (type === 'Secret' && !created) {
          created = true
          await s.write('Mesh', '', 'late')
        }
        return s.store.list(type, options)
      },
    }
    expect(await sweepOrphans({ store: racing, clock: s.clock })).toEqual({ removed: [] })
    expect(await s.all()).toEqual(['Secret late/late.ca-builtin-key-ca-1'])
  })
})
