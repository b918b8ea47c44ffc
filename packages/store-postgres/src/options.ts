import type { Logger } from '@meshca/core-mtls'

/** Options every driver takes. */
export interface CommonStoreOptions {
  /** The PostgreSQL schema of the store's tables, created if missing; default "meshca". */
  readonly schema?: string
  readonly logger?: Logger
  /** Largest spec accepted, in bytes of JSON; default 1 MiB. */
  readonly maxSpecBytes?: number
  /** How long deletions are kept for listeners that reconnect (their tombstones); default 15 minutes. */
  readonly eventRetentionMs?: number
  /** How often tombstones older than that are deleted; default 1 minute. */
  readonly pruneIntervalMs?: number
  /** Where the migrations are; default the package's `drizzle/` folder. */
  readonly migrationsFolder?: string
}

export const DEFAULT_EVENT_RETENTION_MS = 15 * 60_000
export const DEFAULT_PRUNE_INTERVAL_MS = 60_000
export const DEFAULT_READ_CACHE_BYTES = 16 * 1024 * 1024
