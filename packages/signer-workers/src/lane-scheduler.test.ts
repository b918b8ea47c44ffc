import type { KeyType, SubjectKey } from '@meshca/core-mtls'
import { describe, expect, it } from 'vitest'
import { leafRequest } from '../test/support/requests.ts'
import { LaneScheduler } from './lane-scheduler.ts'
import type { Caller, Item, KeyItem, LeafItem } from './work-items.ts'

const noop = () => {}

function keyItem(keyType: KeyType): KeyItem {
  return { kind: 'key', keyType, resolve: noop, reject: noop, attempt: 0 }
}

function leafItem(subjectKey: SubjectKey, pooled = false): LeafItem {
  const caller: Caller = { outcomes: [], remaining: 1, settled: false, resolve: noop, reject: noop }
  const pooledKey = pooled
    ? { keyType: 'RSA_2048' as const, spki: new Uint8Array(1), pkcs8: new Uint8Array(1) }
    : undefined
  return { kind: 'leaf', request: leafRequest(subjectKey), pooledKey, caller, index: 0, attempt: 0 }
}

/** Every batch, as the pump takes them: each one fills a slot, until one slot is left. */
function drain(lanes: LaneScheduler, freeSlots: number): Item[][] {
  const batches: Item[][] = []
  for (let lane = lanes.nextLane(); lane; lane = lanes.nextLane()) {
    batches.push(lanes.takeBatch(lane, Math.max(1, freeSlots - batches.length)))
  }
  return batches
}

describe('LaneScheduler', () => {
  it('spreads a small backlog over the free slots and sends a large one in full batches', () => {
    const lanes = new LaneScheduler(4, noop)
    const lane = lanes.laneFor('key:ED25519', undefined, 'ED25519')
    lanes.enqueue(
      lane,
      Array.from({ length: 6 }, () => keyItem('ED25519'))
    )
    expect(drain(lanes, 3).map((b) => b.length)).toEqual([2, 2, 2])
    const again = lanes.laneFor('key:ED25519', undefined, 'ED25519')
    lanes.enqueue(
      again,
      Array.from({ length: 10 }, () => keyItem('ED25519'))
    )
    expect(drain(lanes, 1).map((b) => b.length)).toEqual([4, 4, 2])
    expect(lanes.queued).toBe(0)
  })

  it('gives an RSA key to generate a task of its own, unless the key comes from the pool', () => {
    const lanes = new LaneScheduler(8, noop)
    const spki = { spki: new Uint8Array(1) }
    const rsa = { generate: 'RSA_2048' as const }
    const items = [leafItem(spki), leafItem(rsa), leafItem(rsa, true), leafItem(spki)]
    lanes.enqueue(lanes.laneFor('ca:a', undefined, undefined), items)
    const batches = drain(lanes, 1)
    expect(batches).toEqual([[items[0]], [items[1]], [items[2], items[3]]])
  })

  it('serves lanes in turn, and a retry first within its lane', () => {
    const lanes = new LaneScheduler(2, noop)
    const a = lanes.laneFor('key:ED25519', undefined, 'ED25519')
    const b = lanes.laneFor('key:ECDSA_P256', undefined, 'ECDSA_P256')
    const [a1, a2, a3, b1, retried] = [
      keyItem('ED25519'),
      keyItem('ED25519'),
      keyItem('ED25519'),
      keyItem('ECDSA_P256'),
      keyItem('ECDSA_P256'),
    ]
    lanes.enqueue(a, [a1, a2, a3])
    lanes.enqueue(b, [b1])
    expect(lanes.takeBatch(lanes.nextLane() ?? a, 1)).toEqual([a1, a2])
    lanes.enqueue(lanes.laneFor('key:ECDSA_P256', undefined, 'ECDSA_P256'), [retried], true)
    expect(drain(lanes, 1)).toEqual([[retried, b1], [a3]])
  })

  it('pumps once per microtask however many times items arrive', async () => {
    let pumps = 0
    const lanes = new LaneScheduler(4, () => pumps++)
    const lane = lanes.laneFor('key:ED25519', undefined, 'ED25519')
    lanes.enqueue(lane, [keyItem('ED25519')])
    lanes.enqueue(lane, [keyItem('ED25519')])
    lanes.schedulePump()
    expect(pumps).toBe(0)
    await Promise.resolve()
    expect(pumps).toBe(1)
    lanes.schedulePump()
    await Promise.resolve()
    expect(pumps).toBe(2)
  })

  it('hands every waiting item out when cleared', () => {
    const lanes = new LaneScheduler(1, noop)
    const items = [keyItem('ED25519'), keyItem('ED25519'), keyItem('ED25519')]
    const lane = lanes.laneFor('key:ED25519', undefined, 'ED25519')
    lanes.enqueue(lane, items)
    lanes.takeBatch(lanes.nextLane() ?? lane, 1)
    const cleared: Item[] = []
    lanes.clear((item) => cleared.push(item))
    expect(cleared).toEqual(items.slice(1))
    expect(lanes.queued).toBe(0)
    expect(lanes.nextLane()).toBeUndefined()
  })
})
