/**
 * The statements the store runs per request, built with drizzle against the schema's tables and
 * prepared by the driver: a get by key, the announced create and update, the deletes, the lists.
 */
import { announcedWrite, insertResource, updateResource } from './announced-writes.ts'
import type { PrepareOptions, StoreDriver } from './driver.ts'
import { ListStatements } from './list-statements.ts'
import { PreparedQuery } from './prepared-query.ts'
import type { GetRow, ResourcesTable, ValueRow } from './resource-rows.ts'
import {
  getColumns,
  keyAndVersionMatch,
  keyMatches,
  valuesOf,
  versionColumn,
} from './resource-rows.ts'

export class StoreStatements {
  readonly get: PreparedQuery<GetRow>
  readonly create: PreparedQuery<ValueRow>
  readonly update: PreparedQuery<ValueRow>
  readonly delete: PreparedQuery<{ readonly version: string }>
  /** A delete if the version matches. */
  readonly deleteVersion: PreparedQuery<{ readonly version: string }>
  readonly list: ListStatements

  /** `channel`: where the creates and updates announce themselves. */
  constructor(driver: StoreDriver, r: ResourcesTable, channel: string) {
    const { db } = driver
    const values = valuesOf(r)
    this.get = new PreparedQuery(
      driver,
      db
        .select({ ...values, spec: r.spec })
        .from(r)
        .where(keyMatches(r)),
      getColumns
    )
    this.create = announcedWrite(driver, channel, 'create', () => insertResource(db, r))
    this.update = announcedWrite(driver, channel, 'update', () => updateResource(db, r))
    // Deletes notify through the trigger, which also writes the tombstone.
    const announces: PrepareOptions = { notifies: true }
    this.delete = new PreparedQuery(
      driver,
      db.delete(r).where(keyMatches(r)).returning({ version: values.version }),
      versionColumn,
      announces
    )
    this.deleteVersion = new PreparedQuery(
      driver,
      db.delete(r).where(keyAndVersionMatch(r)).returning({ version: values.version }),
      versionColumn,
      announces
    )
    this.list = new ListStatements(driver, r)
  }
}
