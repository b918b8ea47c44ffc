/**
 * One embedded database per test file (starting PGlite takes seconds) and a fresh schema for each
 * store the file opens on it. Call it at the top level of a test file: it registers the file's
 * `beforeAll`, `afterEach` and `afterAll`.
 */
import { PGlite } from '@electric-sql/pglite'
import { afterAll, afterEach, beforeAll } from 'vitest'

export interface SharedPglite {
  /** The file's database; open from `beforeAll` on. */
  readonly pglite: PGlite
  /** A schema name that no other store of the file has had. */
  newSchema(prefix: string): string
}

export function sharedPglite(): SharedPglite {
  let pglite: PGlite | undefined
  let schemas = 0
  beforeAll(async () => {
    pglite = await PGlite.create()
  })
  // A test that stops between a BEGIN sent by hand and its COMMIT would leave the session, which
  // every test of the file shares, inside that transaction.
  afterEach(async () => {
    if (pglite?.isInTransaction()) await pglite.exec('ROLLBACK')
  })
  afterAll(async () => {
    await pglite?.close()
  })
  return {
    get pglite() {
      if (pglite === undefined) throw new Error('the shared PGlite opens in beforeAll')
      return pglite
    },
    newSchema: (prefix) => `${prefix}_${++schemas}`,
  }
}
