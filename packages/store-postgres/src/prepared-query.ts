/**
 * A drizzle-built statement, prepared by the driver, run with named placeholder values.
 */
import { fillPlaceholders } from 'drizzle-orm'
import type { PreparedStatement, PrepareOptions, Row, StoreDriver } from './driver.ts'
import { failedAs, toStoreError } from './sql-errors.ts'

export type Placeholders = Record<string, string | number>

/**
 * `decode` reads a row's columns in the order the query selects them. Failures come out as the
 * store's errors, named after the action. Every read goes through here: no closure is made per
 * call.
 */
export class PreparedQuery<T> {
  readonly #prepared: PreparedStatement
  readonly #params: unknown[]
  readonly #decodeAll: (rows: readonly Row[]) => T[]
  readonly #decodeFirst: (rows: readonly Row[]) => T | undefined

  constructor(
    driver: StoreDriver,
    query: { toSQL(): { sql: string; params: unknown[] } },
    decode: (row: Row) => T,
    options?: PrepareOptions
  ) {
    const { sql: text, params } = query.toSQL()
    this.#prepared = driver.prepare(text, options)
    this.#params = params
    this.#decodeAll = (rows) => rows.map(decode)
    this.#decodeFirst = (rows) => {
      const row = rows[0]
      return row === undefined ? undefined : decode(row)
    }
  }

  execute(action: string, placeholders: Placeholders): Promise<T[]> {
    return this.#start(action, placeholders, this.#decodeAll)
  }

  /** The first row only: a read by key, one step shorter than `execute` (it is the hot path). */
  first(action: string, placeholders: Placeholders): Promise<T | undefined> {
    return this.#start(action, placeholders, this.#decodeFirst)
  }

  #start<R>(
    action: string,
    placeholders: Placeholders,
    decodeRows: (rows: readonly Row[]) => R
  ): Promise<R> {
    try {
      return this.#prepared
        .run(fillPlaceholders(this.#params, placeholders))
        .then(decodeRows, failedAs(action))
    } catch (error) {
      return Promise.reject(toStoreError(error, action))
    }
  }
}
