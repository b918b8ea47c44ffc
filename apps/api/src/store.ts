/**
 * The Store a configuration names. PGlite and PostgreSQL come from `@meshca/store-postgres`, loaded
 * only when used so that a memory-store process does not load the database engine.
 */
import { join } from 'node:path'
import {
  createMemoryInstanceRegistry,
  createMemoryStore,
  type InstanceRegistry,
  type Logger,
  type Store,
} from '@meshca/core-mtls'
import type { Leadership } from '@meshca/rotation-daemon'
import type { ApiConfig } from './config.ts'

/** PGlite's own folder inside the data directory, beside the key and token files. */
export const PGLITE_DIR = 'pglite'

export interface OpenedStore {
  readonly store: Store
  /** Liveness of the instances that serve data plane streams. */
  readonly instances: InstanceRegistry
  /**
   * Competes for leadership of singleton work; absent where this process is the only one that can
   * use the data (memory store, PGlite), which then always leads.
   */
  readonly leaderElection?: (name: string) => Leadership
}

export async function openStore(
  config: Pick<ApiConfig, 'store' | 'dataDir' | 'postgresUrl' | 'postgresReadCacheMs'>,
  logger: Logger
): Promise<OpenedStore> {
  switch (config.store) {
    case 'memory':
      return { store: createMemoryStore({ logger }), instances: createMemoryInstanceRegistry() }
    case 'pglite': {
      const { createPgliteStore } = await import('@meshca/store-postgres')
      // Only one process can open an embedded database: it leads without an election.
      const store = await createPgliteStore({ dataDir: join(config.dataDir, PGLITE_DIR), logger })
      return { store, instances: store.instances }
    }
    case 'postgres': {
      const { createPostgresStore } = await import('@meshca/store-postgres')
      if (config.postgresUrl === undefined) throw new Error('MESHCA_POSTGRES_URL is not set')
      const store = await createPostgresStore({
        url: config.postgresUrl,
        logger,
        readCacheMaxAgeMs: config.postgresReadCacheMs,
      })
      return { store, instances: store.instances, leaderElection: (n) => store.leaderElection(n) }
    }
  }
}
