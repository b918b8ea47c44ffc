/**
 * @module
 * The persistent Store of meshca: resources in a PostgreSQL server (postgres.js) or in an embedded
 * PGlite database, one schema and one implementation for both. Committed drizzle-kit migrations
 * are applied on start; change events reach every instance on the same database (LISTEN/NOTIFY,
 * replayed from an event table after a reconnect); leader election picks one instance for
 * singleton work.
 */

export { createPgliteStore, type PgliteStoreOptions } from './drivers/pglite.ts'
export { isDataDirInUse } from './drivers/pglite-data-dir-lock.ts'
export { createPostgresStore, type PostgresStoreOptions } from './drivers/postgres-js.ts'
export { DEFAULT_MAX_SPEC_BYTES } from './input-checks.ts'
export type { LeaderElection, LeaderElectionOptions } from './leader-election.ts'
export {
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_LEASE_MS,
  DEFAULT_RETRY_MS,
} from './leader-election.ts'
export { defaultMigrationsFolder, MIGRATIONS_TABLE } from './migrate.ts'
export { DEFAULT_SCHEMA } from './names.ts'
export { type OpenStoreOptions, openStore } from './open-store.ts'
export {
  type CommonStoreOptions,
  DEFAULT_EVENT_RETENTION_MS,
  DEFAULT_PRUNE_INTERVAL_MS,
} from './options.ts'
export type { PostgresStore } from './store.ts'
