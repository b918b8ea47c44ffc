/**
 * Whether a Mesh is stored, asked of what the store has committed. `Store.get` may answer from a
 * cache (store-postgres keeps rows read by key; on PostgreSQL with `readCacheMaxAgeMs` a delete made
 * through another instance shows there only once its notification arrives); `Store.list` never does
 * (see the port), so these read through `list`.
 */
import type { Store } from '../ports/store.ts'
import { storedPages } from './store-pages.ts'

/** The names of every stored Mesh, as committed when each page was read. */
export async function storedMeshNames(store: Store): Promise<Set<string>> {
  const names = new Set<string>()
  for await (const items of storedPages(store, 'Mesh')) {
    for (const item of items) names.add(item.name)
  }
  return names
}

/** Whether the Mesh `name` is stored now: every write committed before the call is seen. */
export async function meshIsStored(store: Store, name: string): Promise<boolean> {
  // The filter is a substring: names that contain this one are listed too.
  for await (const items of storedPages(store, 'Mesh', { nameContains: name })) {
    if (items.some((item) => item.name === name)) return true
  }
  return false
}
