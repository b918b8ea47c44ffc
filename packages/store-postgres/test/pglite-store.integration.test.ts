import { runStoreContract } from '@meshca/core-mtls/testing'
import type { PostgresStore } from '../src/index.ts'
import { createPgliteStore } from '../src/index.ts'
import { sharedPglite } from './support/shared-pglite.ts'

const shared = sharedPglite()

runStoreContract('PGlite', {
  makeStore: () =>
    createPgliteStore({ pglite: shared.pglite, schema: shared.newSchema('contract') }),
  makeSecondStore: (first) =>
    createPgliteStore({ pglite: shared.pglite, schema: (first as PostgresStore).schema }),
})
