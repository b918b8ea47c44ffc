/**
 * The store on the runtime running the tests: the Bun and Deno passes of `npm test` run this file
 * (and the contract suites) to show that both drivers work there, LISTEN/NOTIFY and leader
 * election included.
 */
import type { ResourceKey, StoreEvent } from '@meshca/core-mtls'
import { isMeshcaError } from '@meshca/core-mtls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PostgresStore } from '../src/index.ts'
import { createPgliteStore, createPostgresStore } from '../src/index.ts'
import { waitFor } from './support/recording-logger.ts'
import type { TestPostgres } from './support/test-postgres.ts'
import { connectTestPostgres } from './support/test-postgres.ts'

function detectRuntime(): 'bun' | 'deno' | 'node' {
  if ('Bun' in globalThis) return 'bun'
  if ('Deno' in globalThis) return 'deno'
  return 'node'
}

let server: TestPostgres

beforeAll(async () => {
  server = await connectTestPostgres()
})

afterAll(async () => {
  await server?.dispose()
})

it('runs on the runtime the test command asked for', () => {
  expect(detectRuntime()).toBe(process.env.MESHCA_EXPECT_RUNTIME ?? 'node')
})

const key: ResourceKey = { type: 'Dataplane', mesh: 'default', name: 'web-1' }

async function exercise(store: PostgresStore): Promise<void> {
  const events: StoreEvent[] = []
  store.watch((event) => events.push(event))
  const created = await store.create(key, { networking: { address: '10.0.0.1' } })
  expect(created.creationTime).toBeInstanceOf(Date)
  const updated = await store.update(key, { networking: { address: '10.0.0.2' } }, created.version)
  expect(await store.get(key)).toEqual(updated)
  const page = await store.list('Dataplane', { size: 1 })
  expect(page).toEqual({ items: [updated], total: 1 })
  await expect(store.update(key, {}, created.version)).rejects.toMatchObject({ code: 'CONFLICT' })
  await store.delete(key)
  await waitFor(() => events.length === 3, 'three events')
  expect(events.map((event) => event.action)).toEqual(['create', 'update', 'delete'])

  const election = store.leaderElection('smoke', { heartbeatMs: 30, leaseMs: 200, retryMs: 30 })
  await waitFor(() => election.isLeader(), 'leadership')
  await election.stop()

  await store.close()
  try {
    await store.get(key)
    expect.fail('a closed store answered')
  } catch (error) {
    expect(isMeshcaError(error, 'STORE_UNAVAILABLE')).toBe(true)
  }
}

describe(`the store on ${detectRuntime()}`, () => {
  it('works on PGlite in memory', async () => {
    await exercise(await createPgliteStore())
  })

  it('works on PostgreSQL through postgres.js', async () => {
    await exercise(await createPostgresStore({ url: server.url, schema: server.newSchema() }))
  })
})
