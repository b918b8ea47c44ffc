/**
 * Inline CA keys that stored Meshes hold in clear (written before keys were sealed, or straight
 * into the store) are sealed when a control plane starts. A migration of stored rows, one at a
 * time, that never fails: a row that does not decode or write (corrupt, written by other means,
 * changed meanwhile) is logged and left as it is. Rows are written as they were, keys sealed,
 * without admission: only the keys change.
 */
import { sealInlineKeys } from '../ca/inline-keys.ts'
import type { Logger } from '../ports/runtime.ts'
import type { Store } from '../ports/store.ts'
import { specToJson } from '../resources/codec.ts'
import type { AtRestEncryption } from './at-rest-encryption.ts'
import { decodeStored } from './resource-manager.ts'

/** Returns how many Meshes it rewrote. */
export async function sealStoredInlineKeys(
  store: Store,
  encryption: AtRestEncryption,
  logger: Logger
): Promise<number> {
  let rewritten = 0
  let offset: string | undefined
  do {
    const page = await store.list('Mesh', {
      size: 100,
      ...(offset === undefined ? {} : { offset }),
    })
    for (const row of page.items) {
      try {
        const stored = decodeStored('Mesh', row)
        const mesh = await sealInlineKeys(encryption, stored)
        if (mesh === stored) continue
        const key = { type: 'Mesh' as const, mesh: '', name: row.name }
        await store.update(key, specToJson('Mesh', mesh.spec), row.version)
        rewritten++
      } catch (error) {
        logger.log('warn', 'inline CA keys of a Mesh not sealed', {
          mesh: row.name,
          error: error instanceof Error ? error.message : String(error),
        })
      }
    }
    offset = page.next
  } while (offset !== undefined)
  return rewritten
}
