/**
 * Liveness of the control plane instances on one database, by the database's clock: a heartbeat
 * row per instance in the store's `instances` table.
 */
import type { InstanceRegistry } from '@meshca/core-mtls'
import { eq, gt, sql } from 'drizzle-orm'
import type { SqlDatabase } from './driver.ts'
import type { StoreTables } from './schema.ts'
import { runAs } from './sql-errors.ts'

/** `ensureOpen` throws once the store is closed. */
export function sqlInstanceRegistry(
  db: SqlDatabase,
  inst: StoreTables['instances'],
  ensureOpen: () => void
): InstanceRegistry {
  return {
    async heartbeat(id) {
      ensureOpen()
      await runAs('heartbeat', () =>
        db
          .insert(inst)
          .values({ id, heartbeatTime: sql`now()` })
          .onConflictDoUpdate({ target: inst.id, set: { heartbeatTime: sql`now()` } })
      )
    },
    async live(withinMs) {
      ensureOpen()
      const rows = await runAs('live instances', () =>
        db
          .select({ id: inst.id })
          .from(inst)
          .where(
            gt(inst.heartbeatTime, sql`now() - ${Math.max(0, withinMs)}::float8 * interval '1 ms'`)
          )
      )
      return new Set(rows.map((row) => row.id))
    },
    async remove(id) {
      ensureOpen()
      await runAs('remove instance', () => db.delete(inst).where(eq(inst.id, id)))
    },
  }
}
