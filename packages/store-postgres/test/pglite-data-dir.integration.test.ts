/**
 * The embedded default: a data directory that survives closing and opening again, and leader
 * election among the contenders of one process.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import type { ResourceKey, StoreEvent } from '@meshca/core-mtls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPgliteStore, openStore } from '../src/index.ts'
import { recordingLogger, waitFor } from './support/recording-logger.ts'

let root: string

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'meshca-pglite-'))
})

afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

function secret(name: string): ResourceKey {
  return { type: 'Secret', mesh: 'default', name }
}

describe('PGlite in a data directory', () => {
  it('keeps resources and the version sequence across close and open, migrating only once', async () => {
    const dataDir = join(root, 'data')
    const logger = recordingLogger()
    const first = await openStore(dataDir, { logger })
    expect(first.driver).toBe('pglite')
    const created = await first.create(secret('kept'), { data: 'eA==' })
    const updated = await first.update(secret('kept'), { data: 'eQ==' }, created.version)
    await first.close()

    const second = await openStore(dataDir, { logger })
    try {
      expect(await second.get(secret('kept'))).toEqual(updated)
      const again = await second.update(secret('kept'), { data: 'eg==' }, updated.version)
      expect(BigInt(again.version)).toBeGreaterThan(BigInt(updated.version))
      expect(logger.entries.filter((e) => e.message === 'applied store migrations')).toHaveLength(1)
    } finally {
      await second.close()
    }
  })

  it('elects one leader among the contenders of the process and passes leadership on at once', async () => {
    const pglite = await PGlite.create(join(root, 'shared'))
    const a = await createPgliteStore({ pglite })
    const b = await createPgliteStore({ pglite })
    try {
      // A lease of a minute: leadership can then only pass on at once (a retry, 50 ms) because the
      // stop hands the lock over, not because a lease ran out; the wait below allows 60 retries.
      const timings = { heartbeatMs: 50, leaseMs: 60_000, retryMs: 50 }
      const first = a.leaderElection('rotation-daemon', timings)
      await waitFor(() => first.isLeader(), 'the first leader')
      const second = b.leaderElection('rotation-daemon', timings)
      const overlaps: number[] = []
      second.onChange((leader) => {
        if (leader && first.isLeader()) overlaps.push(performance.now())
      })
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(second.isLeader()).toBe(false)
      await first.stop()
      await waitFor(() => second.isLeader(), 'the second leader', 3_000)
      expect(overlaps).toEqual([])

      // Both stores see each other's writes as events, in process.
      const events: StoreEvent[] = []
      b.watch((event) => events.push(event))
      await a.create(secret('shared'), {})
      await waitFor(() => events.length === 1, 'the event on the other store')
    } finally {
      await a.close()
      await b.close()
      await pglite.close()
    }
  })

  it('opens in memory for "memory:"', async () => {
    const store = await openStore('memory:')
    try {
      await store.create(secret('ephemeral'), {})
      expect((await store.list('Secret')).total).toBe(1)
    } finally {
      await store.close()
    }
  })
})
