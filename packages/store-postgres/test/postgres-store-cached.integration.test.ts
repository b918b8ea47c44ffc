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

// The contract of postgres-store.integration.test.ts with the read cache on, in both instances
// (`readCacheMaxAgeMs`): what a single instance promises holds with it. Its cross-instance
// staleness is tested in postgres-read-cache.integration.test.ts, not here: the contract's
// cross-instance reads follow a write by the reading instance, which drops the row anyway. Run on
// Node only (scripts/test.mjs): the cache is runtime-neutral JavaScript, and
// postgres-read-cache.integration.test.ts exercises it on Bun and Deno too.
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
