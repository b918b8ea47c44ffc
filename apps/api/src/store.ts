/**
 * The Store a configuration names. PGlite and PostgreSQL come from `@meshca/store-postgres`, loaded
 * only when used so that a memory-store process does not load the database engine.
 */
import { join } from 'node:path'
import {
  createMemoryInstanceRegistry,
  createMemoryStore,
  type InstanceRegistry,
  type Leadership,
  type Logger,
  MeshcaError,
  type Store,
} from '@meshca/core-mtls'
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
      const { createPgliteStore, isDataDirInUse } = await import('@meshca/store-postgres')
      // Only one process can open an embedded database (the store locks it): it leads without an
      // election.
      const store = await createPgliteStore({
        dataDir: join(config.dataDir, PGLITE_DIR),
        logger,
      }).catch((error: unknown) => {
        throw isDataDirInUse(error) ? withSharingAdvice(error) : error
      })
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

/**
 * What to do when another process holds the PGlite directory: typically `npm run daemon` started
 * beside `npm start` with the same flags, or a second `npm start`.
 */
function withSharingAdvice(error: MeshcaError): MeshcaError {
  return new MeshcaError(
    error.code,
    `${error.message}. \`npm start\` already runs the rotation daemon; to run \`npm run daemon\` or several API instances side by side, give all of them --store postgres and the same --postgres-url. Otherwise stop the other process first`,
    { ...(error.path === undefined ? {} : { path: error.path }), cause: error }
  )
}
