/**
 * The Store a configuration names. PGlite and PostgreSQL come from `@meshca/store-postgres`, loaded
 * only when used so that a memory-store process does not load the database engine.
 */
import { join } from 'node:path'
import { createMemoryStore, type Logger, type Store } from '@meshca/core-mtls'
import type { ApiConfig } from './config.ts'

/** PGlite's own folder inside the data directory, beside the key and token files. */
export const PGLITE_DIR = 'pglite'

export async function openStore(
  config: Pick<ApiConfig, 'store' | 'dataDir' | 'postgresUrl'>,
  logger: Logger
): Promise<Store> {
  switch (config.store) {
    case 'memory':
      return createMemoryStore({ logger })
    case 'pglite': {
      const { createPgliteStore } = await import('@meshca/store-postgres')
      return createPgliteStore({ dataDir: join(config.dataDir, PGLITE_DIR), logger })
    }
    case 'postgres': {
      const { createPostgresStore } = await import('@meshca/store-postgres')
      if (config.postgresUrl === undefined) throw new Error('MESHCA_POSTGRES_URL is not set')
      return createPostgresStore({ url: config.postgresUrl, logger })
    }
  }
}
