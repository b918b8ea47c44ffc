/** The core most tests run against: a memory store, the inline signer, a random at-rest key. */
import { createInlineSigner } from '../src/adapters/inline-signer.ts'
import { createMemoryStore } from '../src/adapters/memory-store.ts'
import {
  createMeshcaCore,
  type MeshcaCore,
  type MeshcaCoreOptions,
} from '../src/managers/meshca-core.ts'
import type { Store } from '../src/ports/store.ts'

type MemoryStore = ReturnType<typeof createMemoryStore>

/** `options` replace any part of it (a store of the test's, a clock, a logger…). */
export function memoryCore<S extends Store = MemoryStore>(
  options: Partial<Omit<MeshcaCoreOptions, 'store'>> & { readonly store?: S } = {}
): { readonly store: S; readonly core: MeshcaCore } {
  const store = options.store ?? (createMemoryStore() as Store as S)
  const core = createMeshcaCore({
    signer: createInlineSigner(),
    encryptionKey: crypto.getRandomValues(new Uint8Array(32)),
    ...options,
    store,
  })
  return { store, core }
}
