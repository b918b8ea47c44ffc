import { MeshcaError } from '@meshca/core-mtls'
import type { PgliteStoreOptions } from './drivers/pglite.ts'
import { createPgliteStore } from './drivers/pglite.ts'
import { createPostgresStore } from './drivers/postgres-js.ts'
import type { CommonStoreOptions } from './options.ts'
import type { PostgresStore } from './store.ts'

export interface OpenStoreOptions extends CommonStoreOptions {
  /** For a server: connections in the query pool. */
  readonly poolSize?: number
}

/**
 * The store a configuration names: a `postgres://` or `postgresql://` URL for a server, `memory:`
 * for an embedded database in memory, anything else for the data directory of an embedded one.
 */
export function openStore(
  location: string,
  options: OpenStoreOptions = {}
): Promise<PostgresStore> {
  if (/^postgres(ql)?:\/\//.test(location))
    return createPostgresStore({ ...options, url: location })
  const { poolSize: _unused, ...common } = options
  if (location === 'memory:') return createPgliteStore(common)
  if (location === '' || location.includes('://')) {
    return Promise.reject(
      new MeshcaError(
        'INVALID',
        'the store location must be a postgres:// URL, "memory:", or a data directory path',
        { path: 'store' }
      )
    )
  }
  const pgliteOptions: PgliteStoreOptions = { ...common, dataDir: location }
  return createPgliteStore(pgliteOptions)
}
