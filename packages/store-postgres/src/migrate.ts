/**
 * Applies the committed drizzle-kit migrations (`drizzle/`, the 0.45 journal layout) to one schema.
 *
 * drizzle's own `migrate()` is not used because it cannot do two things this store needs: it takes
 * no lock, so two instances starting at once both try to create the tables, and it runs the
 * generated SQL in whatever `search_path` the connection has. Here one transaction takes a
 * transaction-level advisory lock for the schema, sets `search_path` to it, and then does what
 * drizzle's migrator does, with the same bookkeeping table (`<schema>.__drizzle_migrations`), so
 * `drizzle-kit migrate` and this code agree on what is applied.
 */
import { fileURLToPath } from 'node:url'
import type { Logger } from '@meshca/core-mtls'
import { sql } from 'drizzle-orm'
import type { MigrationMeta } from 'drizzle-orm/migrator'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import type { SqlDatabase } from './driver.ts'
import { queryRows } from './driver.ts'
import { LOCK_NAMESPACE, migrationLockKey, WRITER_SETTING } from './names.ts'

export const MIGRATIONS_TABLE = '__drizzle_migrations'

/** The package's `drizzle/` folder, from `src/` in development and from `dist/` once built. */
export function defaultMigrationsFolder(): string {
  return fileURLToPath(new URL('../drizzle', import.meta.url))
}

let cachedMigrations: MigrationMeta[] | undefined

function committedMigrations(folder: string | undefined): MigrationMeta[] {
  if (folder !== undefined) return readMigrationFiles({ migrationsFolder: folder })
  cachedMigrations ??= readMigrationFiles({ migrationsFolder: defaultMigrationsFolder() })
  return cachedMigrations
}

export interface MigrateOptions {
  readonly schema: string
  readonly logger: Logger
  readonly migrationsFolder?: string
  /** How long to wait for another instance's migration before giving up. */
  readonly lockTimeoutMs?: number
}

/** Returns how many migrations this call applied (0 when another instance already had). */
export async function applyMigrations(db: SqlDatabase, options: MigrateOptions): Promise<number> {
  const { schema, logger } = options
  const migrations = committedMigrations(options.migrationsFolder)
  const bookkeeping = sql`${sql.identifier(schema)}.${sql.identifier(MIGRATIONS_TABLE)}`
  const lockTimeout = `${Math.max(1, Math.round(options.lockTimeoutMs ?? 60_000))}ms`
  return db.transaction(async (tx) => {
    const run = (query: ReturnType<typeof sql>) => tx.execute(query)
    await run(sql`select set_config('lock_timeout', ${lockTimeout}, true)`)
    // A migration that writes resources goes through the triggers, as any writer by hand does,
    // whatever a role or database default says of WRITER_SETTING.
    await run(sql`select set_config(${WRITER_SETTING}, '', true)`)
    // Waits for an instance that is migrating this schema right now; released at commit.
    await run(
      sql`select pg_advisory_xact_lock(${LOCK_NAMESPACE}::int4, ${migrationLockKey(schema)}::int4)`
    )
    await run(sql`create schema if not exists ${sql.identifier(schema)}`)
    await run(sql`set local search_path to ${sql.identifier(schema)}`)
    await run(
      sql`create table if not exists ${bookkeeping} (id serial primary key, hash text not null, created_at bigint)`
    )
    const [last] = await queryRows<{ created_at: string | number | null }>(
      tx as unknown as SqlDatabase,
      sql`select created_at from ${bookkeeping} order by created_at desc limit 1`
    )
    const lastApplied = last?.created_at == null ? undefined : Number(last.created_at)
    const newest = migrations.at(-1)?.folderMillis ?? 0
    if (lastApplied !== undefined && lastApplied > newest) {
      logger.log('warn', 'the store schema has migrations newer than this build knows', {
        schema,
      })
    }
    let applied = 0
    for (const migration of migrations) {
      if (lastApplied !== undefined && lastApplied >= migration.folderMillis) continue
      for (const statement of migration.sql) {
        if (statement.trim() !== '') await run(sql.raw(statement))
      }
      await run(
        sql`insert into ${bookkeeping} (hash, created_at) values (${migration.hash}, ${migration.folderMillis})`
      )
      applied += 1
    }
    if (applied > 0) logger.log('info', 'applied store migrations', { schema, applied })
    return applied
  })
}
