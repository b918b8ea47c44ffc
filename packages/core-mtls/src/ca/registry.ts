import { MeshcaError } from '../errors.ts'
import { builtinCaBackend } from './builtin.ts'
import type { CaBackend } from './ca-backend.ts'
import { providedCaBackend } from './provided.ts'

/** CA plugins by type. Vault, ACM PCA or cert-manager backends are added here without touching the rest. */
export type CaBackendRegistry = ReadonlyMap<string, CaBackend>

export function defaultCaBackends(extra: readonly CaBackend[] = []): CaBackendRegistry {
  return new Map([builtinCaBackend, providedCaBackend, ...extra].map((b) => [b.type, b]))
}

export function caBackendFor(registry: CaBackendRegistry, type: string): CaBackend {
  const backend = registry.get(type)
  if (!backend) throw new MeshcaError('INVALID', `CA manager of type ${type} not exist`)
  return backend
}
