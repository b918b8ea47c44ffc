import { MeshcaError } from '@meshca/core-mtls'

export const DEFAULT_SCHEMA = 'meshca'

/**
 * Lower-case, unquoted-identifier characters only, so that the name needs no quoting anywhere, and
 * short enough for `<schema>.changes` to fit PostgreSQL's 63-byte channel names.
 */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/

export function checkSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema) || schema === 'public' || schema.startsWith('pg_')) {
    throw new MeshcaError(
      'INVALID',
      'the store schema must be 1 to 48 lower-case letters, digits or underscores, start with a letter or underscore, and not be "public" or start with "pg_"',
      { violations: [{ field: 'schema', message: 'invalid schema name' }] }
    )
  }
  return schema
}

/** The NOTIFY channel of a schema's change events; the trigger in drizzle/0002 builds the same. */
export function changeChannel(schema: string): string {
  return `${schema}.changes`
}

/** First half of every advisory lock key meshca takes: "mesh" in ASCII. */
export const LOCK_NAMESPACE = 0x6d657368

/**
 * Second half of an advisory lock key: FNV-1a of the text, kept positive so that it reads the same
 * as an `int4` argument and as the `objid` column of `pg_locks`.
 */
export function lockKey(text: string): number {
  let hash = 0x811c9dc5
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash & 0x7fffffff
}

export function migrationLockKey(schema: string): number {
  return lockKey(`${schema}/migrations`)
}

export function leaderLockKey(schema: string, name: string): number {
  return lockKey(`${schema}/leader/${name}`)
}

/**
 * The session setting the change trigger reads (migrations 0004, 0005): `notify` sends the
 * notification of a deletion without its tombstone in `events`. Only the PGlite store sets it; PostgreSQL sessions pin it to `log`.
 */
export const CHANGE_LOG_SETTING = 'meshca.change_log'

/**
 * The setting the triggers read (migration 0006): `store` says that the transaction's inserts and
 * updates of resources stamp and announce themselves, so the triggers skip them. Only the store's
 * own creates and updates set it, for their own transaction (announced-writes.ts, `newSpec`).
 */
export const WRITER_SETTING = 'meshca.writer'
