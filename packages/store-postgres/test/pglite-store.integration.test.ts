import { PGlite } from '@electric-sql/pglite'
import { runStoreContract } from '@meshca/core-mtls/testing'
import { afterAll, beforeAll } from 'vitest'
import type { PostgresStore } from '../src/index.ts'
import { createPgliteStore } from '../src/index.ts'

// One embedded database for the file (starting PGlite takes seconds); a schema per store.
let pglite: PGlite
let schemaCount = 0

beforeAll(async () => {
  pglite = await PGlite.create()
})

afterAll(async () => {
  await pglite.close()
})

runStoreContract('PGlite', {
  makeStore: () => createPgliteStore({ pglite, schema: `contract_${++schemaCount}` }),
  makeSecondStore: (first) =>
    createPgliteStore({ pglite, schema: (first as PostgresStore).schema }),
})
