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
