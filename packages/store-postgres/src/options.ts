import type { Logger } from '@meshca/core-mtls'
import { MeshcaError } from '@meshca/core-mtls'

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
  /**
   * Memory for rows read by key, in bytes of spec; default 16 MiB, 0 for none. On PGlite it is used
   * always; on PostgreSQL only with `readCacheMaxAgeMs` (see there).
   */
  readonly readCacheBytes?: number
}

export const DEFAULT_EVENT_RETENTION_MS = 15 * 60_000
export const DEFAULT_PRUNE_INTERVAL_MS = 60_000
export const DEFAULT_READ_CACHE_BYTES = 16 * 1024 * 1024

/** A whole number, 0 or more, from the option named `path` (default when absent). */
export function wholeNumberOption(
  value: number | undefined,
  fallback: number,
  path: string
): number {
  const checked = value ?? fallback
  if (!Number.isSafeInteger(checked) || checked < 0) {
    throw new MeshcaError('INVALID', `${path} must be a whole number, 0 or more`, { path })
  }
  return checked
}
