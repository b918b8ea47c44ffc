import type { StoreEvent } from '@meshca/core-mtls'
import { silentLogger } from '@meshca/core-mtls'
import { describe, expect, it } from 'vitest'
import type { ChangeRecord, ReplaySource } from './change-feed.ts'
import { ChangeFeed, inReplayOrder } from './change-feed.ts'

function payload(seq: number, action: string, name: string, version = seq): string {
  return JSON.stringify({
    seq: String(seq),
    action,
    type: 'Secret',
    mesh: 'default',
    name,
    version: String(version),
  })
}

function record(
  seq: number,
  action: 'create' | 'update' | 'delete',
  name: string,
  version = seq
): ChangeRecord {
  return {
    seq: BigInt(seq),
    action,
    type: 'Secret',
    mesh: 'default',
    name,
    version: String(version),
  }
}

function names(events: readonly StoreEvent[]): string[] {
  return events.map((event) => `${event.action}:${event.key.name}`)
}

describe('change feed', () => {
  it('hides from a new listener the own writes completed before it subscribed', () => {
    const feed = new ChangeFeed(silentLogger)
    const early: StoreEvent[] = []
    feed.subscribe((event) => early.push(event))
    feed.ownWriteCompleted('create', '1')
    const late: StoreEvent[] = []
    feed.subscribe((event) => late.push(event))
    feed.receive(payload(1, 'create', 'a'))
    // Notified before the write returned: every listener subscribed before its completion.
    feed.receive(payload(2, 'create', 'b'))
    feed.ownWriteCompleted('create', '2')
    // Another instance's write.
    feed.receive(payload(3, 'create', 'c'))
    expect(names(early)).toEqual(['create:a', 'create:b', 'create:c'])
    expect(names(late)).toEqual(['create:b', 'create:c'])
  })

  it('holds live notifications while replaying, then delivers both without duplicates', async () => {
    const feed = new ChangeFeed(silentLogger)
    feed.start(0n)
    const events: StoreEvent[] = []
    feed.subscribe((event) => events.push(event))
    feed.receive(payload(1, 'create', 'a'))
    feed.lost()
    feed.receive(payload(4, 'create', 'live'))
    const source: ReplaySource = {
      changesAfter: async (after) =>
        [
          record(1, 'create', 'a'),
          record(2, 'update', 'a'),
          record(3, 'delete', 'b'),
          record(4, 'create', 'live'),
        ].filter((r) => r.seq > after),
      currentSeq: async () => 4n,
    }
    await feed.resume(source, 60_000)
    expect(names(events)).toEqual(['create:a', 'update:a', 'delete:b', 'create:live'])
    expect(feed.lastSeq).toBe(4n)
  })

  it('delivers what it held when a resume before start cannot read the sequence yet', async () => {
    // The LISTEN connection opens while the schema is migrated: it may drop and come back before
    // the change sequence exists.
    const feed = new ChangeFeed(silentLogger)
    const events: StoreEvent[] = []
    feed.subscribe((event) => events.push(event))
    feed.lost()
    const failing: ReplaySource = {
      changesAfter: async () => [],
      currentSeq: async () => {
        throw new Error('relation "change_seq" does not exist')
      },
    }
    await expect(feed.resume(failing, 60_000)).rejects.toThrow('change_seq')
    feed.start(5n)
    feed.receive(payload(6, 'create', 'after'))
    expect(names(events)).toEqual(['create:after'])
  })

  it('starts from the sequence read at start even when a notification came first', () => {
    const feed = new ChangeFeed(silentLogger)
    feed.receive(payload(3, 'create', 'early'))
    feed.start(7n)
    expect(feed.lastSeq).toBe(7n)
    feed.receive(payload(8, 'create', 'later'))
    feed.start(7n)
    expect(feed.lastSeq).toBe(8n)
  })

  it('drops a held notification of a state the replay already went past', async () => {
    const feed = new ChangeFeed(silentLogger)
    feed.start(0n)
    const events: StoreEvent[] = []
    feed.subscribe((event) => events.push(event))
    feed.lost()
    // Committed after the listen connection came back, before the replay read the resources: the
    // notifications of both updates arrive live, the replay sees only the latest version.
    const source: ReplaySource = {
      changesAfter: async () => {
        feed.receive(payload(5, 'update', 'hot'))
        feed.receive(payload(6, 'update', 'hot'))
        feed.receive(payload(7, 'create', 'new'))
        return [record(6, 'update', 'hot')]
      },
      currentSeq: async () => 4n,
    }
    await feed.resume(source, 60_000)
    feed.receive(payload(8, 'update', 'hot'))
    expect(names(events)).toEqual(['update:hot', 'create:new', 'update:hot'])
    expect(feed.lastSeq).toBe(8n)
  })

  it('delivers a held recreate after the replay brought the deletion of the same key', async () => {
    const feed = new ChangeFeed(silentLogger)
    feed.start(0n)
    const events: StoreEvent[] = []
    feed.subscribe((event) => events.push(event))
    feed.receive(payload(1, 'create', 'k'))
    feed.lost()
    // The recreate took version 2 before the delete of version 1 took tombstone seq 3; the delete
    // committed before the replay read, the recreate after it.
    const source: ReplaySource = {
      changesAfter: async () => {
        feed.receive(payload(2, 'create', 'k'))
        return [record(3, 'delete', 'k', 1)]
      },
      currentSeq: async () => 3n,
    }
    await feed.resume(source, 60_000)
    expect(names(events)).toEqual(['create:k', 'delete:k', 'create:k'])
  })

  it('puts a tombstone before the newer incarnation of its key that started before it', () => {
    const ordered = inReplayOrder([
      record(2, 'create', 'k'),
      record(3, 'delete', 'k', 1),
      record(4, 'create', 'other'),
      record(5, 'delete', 'gone', 4),
    ])
    expect(ordered.map((r) => `${r.action}:${r.name}:${r.seq}`)).toEqual([
      'delete:k:3',
      'create:k:2',
      'create:other:4',
      'delete:gone:5',
    ])
    // A tombstone of the row that is current now (deleted, then nothing) keeps its place.
    expect(
      inReplayOrder([record(6, 'update', 'k'), record(7, 'delete', 'k', 6)]).map((r) => r.action)
    ).toEqual(['update', 'delete'])
  })

  it('does not deliver a write twice when the replay names it with another action', async () => {
    const feed = new ChangeFeed(silentLogger)
    feed.start(0n)
    const events: StoreEvent[] = []
    feed.subscribe((event) => events.push(event))
    // Inserted by hand with its own times: notified as a create, read back as an update.
    feed.receive(payload(5, 'create', 'by-hand'))
    feed.lost()
    const source: ReplaySource = {
      changesAfter: async () => [record(5, 'update', 'by-hand')],
      currentSeq: async () => 5n,
    }
    await feed.resume(source, 60_000)
    expect(names(events)).toEqual(['create:by-hand'])
  })

  it('says in the log how much it replayed, and when deletions may have been pruned', async () => {
    const logged: { message: string; fields: unknown }[] = []
    const feed = new ChangeFeed({
      log: (_level, message, fields) => logged.push({ message, fields }),
    })
    feed.start(10n)
    const source: ReplaySource = {
      changesAfter: async () => [record(11, 'create', 'x'), record(12, 'delete', 'y')],
      currentSeq: async () => 12n,
    }
    feed.lost()
    await feed.resume(source, 60_000)
    feed.lost()
    await feed.resume(source, 0)
    expect(logged.map((entry) => entry.message)).toEqual([
      'store change events resumed after the listen connection was lost',
      expect.stringContaining('deletions older than the retention were pruned'),
    ])
    expect(logged.map((entry) => (entry.fields as { missed: number }).missed)).toEqual([2, 0])
  })

  it('ignores malformed notifications and keeps going when a listener throws', () => {
    const logged: string[] = []
    const feed = new ChangeFeed({ log: (_level, message) => logged.push(message) })
    const events: StoreEvent[] = []
    feed.subscribe(() => {
      throw new Error('listener failure (expected by the test)')
    })
    feed.subscribe((event) => events.push(event), { types: ['Secret'] })
    feed.receive('not json')
    feed.receive(
      JSON.stringify({
        seq: '1',
        action: 'explode',
        type: 'Secret',
        mesh: '',
        name: 'x',
        version: '1',
      })
    )
    feed.receive(payload(2, 'update', 'ok'))
    expect(names(events)).toEqual(['update:ok'])
    expect(logged).toEqual([
      'ignored a malformed store change notification',
      'ignored a malformed store change notification',
      'store watch listener failed',
    ])
  })
})
