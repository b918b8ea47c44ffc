/**
 * The tables of the store, as drizzle-kit reads them to generate `drizzle/` and as the store
 * queries them. drizzle-kit sees the unqualified tables exported at the bottom, so the committed
 * migrations name no schema and are applied with `search_path` set to the store's schema; at run
 * time every query goes through `defineStoreTables(schema)`, which qualifies each table, so that
 * queries never depend on a session's `search_path`.
 *
 * Objects drizzle-kit cannot express schema-free live in the hand-written migrations instead: the
 * `change_seq` sequence (drizzle-kit would write `"public"."change_seq"`) and the triggers and
 * functions that stamp versions and record change events.
 */
import { sql } from 'drizzle-orm'
import {
  bigint,
  check,
  customType,
  index,
  pgSchema,
  pgTable,
  primaryKey,
  text,
  timestamp,
  varchar,
} from 'drizzle-orm/pg-core'

/** Kuma's column size for names (docs/kuma-compatibility.md §10.2), also meshca's name limit. */
export const KEY_COLUMN_LENGTH = 253
export const TYPE_COLUMN_LENGTH = 64

/**
 * Keys compare in the "C" collation, byte order of UTF-8 and therefore code point order, whatever
 * the database's default collation: list order and cursors must agree with the memory store.
 * drizzle has no collation option, so the type carries it.
 */
const byteOrderedText = customType<{
  data: string
  driverData: string
  config: { length: number }
}>({
  dataType: (config) => `varchar(${config?.length ?? KEY_COLUMN_LENGTH}) COLLATE "C"`,
})

/**
 * Milliseconds, as a JavaScript Date holds them, so that a stored time and a returned one are
 * equal.
 */
const millisecondTime = (name: string) => timestamp(name, { withTimezone: true, precision: 3 })

export function defineStoreTables(schemaName?: string) {
  // `pgSchema(name).table` qualifies every reference; plain `pgTable` is for drizzle-kit only.
  const table = (schemaName === undefined ? pgTable : pgSchema(schemaName).table) as typeof pgTable

  const resources = table(
    'resources',
    {
      type: byteOrderedText('type', { length: TYPE_COLUMN_LENGTH }).notNull(),
      mesh: byteOrderedText('mesh', { length: KEY_COLUMN_LENGTH }).notNull(),
      name: byteOrderedText('name', { length: KEY_COLUMN_LENGTH }).notNull(),
      /**
       * One sequence for every row and every event, so that a version is never given twice, not
       * even to a resource deleted and created again. The BEFORE UPDATE trigger draws a new one.
       */
      version: bigint('version', { mode: 'bigint' }).notNull().default(sql`nextval('change_seq')`),
      /** JSON text, kept as written: `jsonb` would reorder keys and drop duplicates. */
      spec: text('spec').notNull(),
      creationTime: millisecondTime('creation_time').notNull().defaultNow(),
      modificationTime: millisecondTime('modification_time').notNull().defaultNow(),
    },
    (t) => [primaryKey({ name: 'resources_pkey', columns: [t.type, t.mesh, t.name] })]
  )

  /**
   * Deletions (tombstones; before migration 0005 every change), written by a trigger in the same
   * transaction: a listener that lost its connection replays from here the deletions NOTIFY could
   * not bring it, and the rest from the resources' versions. Pruned after a retention time.
   */
  const events = table(
    'events',
    {
      seq: bigint('seq', { mode: 'bigint' }).primaryKey(),
      action: varchar('action', { length: 6 }).notNull(),
      type: byteOrderedText('type', { length: TYPE_COLUMN_LENGTH }).notNull(),
      mesh: byteOrderedText('mesh', { length: KEY_COLUMN_LENGTH }).notNull(),
      name: byteOrderedText('name', { length: KEY_COLUMN_LENGTH }).notNull(),
      /** The version the write gave the resource; for a delete, the version it had. */
      version: bigint('version', { mode: 'bigint' }).notNull(),
      at: millisecondTime('at').notNull().defaultNow(),
    },
    (t) => [
      index('events_at').using('brin', t.at),
      check('events_action', sql`${t.action} in ('create', 'update', 'delete')`),
    ]
  )

  /**
   * The control plane instances that serve data planes, each with the database time it last said it
   * was alive: a data plane whose stream belongs to an instance that went silent is offline, even
   * though that instance never got to write the disconnect.
   */
  const instances = table('instances', {
    id: byteOrderedText('id', { length: KEY_COLUMN_LENGTH }).primaryKey(),
    heartbeatTime: millisecondTime('heartbeat_time').notNull().defaultNow(),
  })

  return { resources, events, instances }
}

export type StoreTables = ReturnType<typeof defineStoreTables>

const unqualified = defineStoreTables()
export const resources = unqualified.resources
export const events = unqualified.events
export const instances = unqualified.instances
