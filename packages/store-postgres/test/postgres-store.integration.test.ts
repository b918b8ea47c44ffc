import { runStoreContract } from '@meshca/core-mtls/testing'
import { afterAll, beforeAll } from 'vitest'
import type { PostgresStore } from '../src/index.ts'
import { createPostgresStore } from '../src/index.ts'
import type { TestPostgres } from './support/test-postgres.ts'
import { connectTestPostgres } from './support/test-postgres.ts'

let server: TestPostgres

beforeAll(async () => {
  server = await connectTestPostgres()
})

afterAll(async () => {
  await server?.dispose()
})

runStoreContract('PostgreSQL (postgres.js)', {
  makeStore: () =>
    createPostgresStore({ url: server.url, schema: server.newSchema(), poolSize: 4 }),
  makeSecondStore: (first) =>
    createPostgresStore({ url: server.url, schema: (first as PostgresStore).schema, poolSize: 4 }),
})

// The same contract with the read cache on, in both instances (`readCacheMaxAgeMs`): what a
// single instance promises holds with it. Its cross-instance staleness is tested in
// postgres-read-cache.integration.test.ts, not here: the contract's cross-instance reads follow a
// write by the reading instance, which drops the row anyway.
runStoreContract('PostgreSQL (postgres.js) with a read cache', {
  makeStore: () =>
    createPostgresStore({
      url: server.url,
      schema: server.newSchema(),
      poolSize: 4,
      readCacheMaxAgeMs: 60_000,
    }),
  makeSecondStore: (first) =>
    createPostgresStore({
      url: server.url,
      schema: (first as PostgresStore).schema,
      poolSize: 4,
      readCacheMaxAgeMs: 60_000,
    }),
})
