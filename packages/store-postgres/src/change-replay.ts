/**
 * What a store replays after its listen connection was lost: the changes committed after a
 * sequence number, read back from the resources (creates and updates) and the event table's
 * tombstones (deletions).
 */
import type { ResourceType } from '@meshca/core-mtls'
import { sql } from 'drizzle-orm'
import type { ChangeRecord, ReplaySource } from './change-feed.ts'
import type { StoreDriver } from './driver.ts'
import { queryRows } from './driver.ts'
import type { StoreTables } from './schema.ts'

export function sqlReplaySource(
  driver: StoreDriver,
  schema: string,
  { resources: r, events: e }: StoreTables
): ReplaySource {
  return {
    async changesAfter(after) {
      const from = sql`${after.toString()}::int8`
      // A row never updated has its creation time as its modification time (both are the insert's
      // now(); an update moves the modification time forward): its version is its create.
      const rows = await queryRows<EventRow>(
        driver.db,
        sql`select seq::text as seq, action, type, mesh, name, version::text as version from (
          select ${r.version} as seq, case when ${r.modificationTime} = ${r.creationTime} then 'create' else 'update' end as action, ${r.type} as type, ${r.mesh} as mesh, ${r.name} as name, ${r.version} as version from ${r} where ${r.version} > ${from}
          union all
          select ${e.seq}, ${e.action}, ${e.type}, ${e.mesh}, ${e.name}, ${e.version} from ${e} where ${e.action} = 'delete' and ${e.seq} > ${from}
        ) as changes order by changes.seq`
      )
      return rows.flatMap(toChangeRecord)
    },
    currentSeq: () => currentSeq(driver, schema),
  }
}

export async function currentSeq(driver: StoreDriver, schema: string): Promise<bigint> {
  const [row] = await queryRows<{ last_value: string; is_called: boolean }>(
    driver.db,
    sql`select last_value::text as last_value, is_called from ${sql.identifier(schema)}.change_seq`
  )
  if (row === undefined) return 0n
  const last = BigInt(row.last_value)
  return row.is_called ? last : last - 1n
}

interface EventRow {
  readonly seq: string
  readonly action: string
  readonly type: string
  readonly mesh: string
  readonly name: string
  readonly version: string
}

function toChangeRecord(row: EventRow): ChangeRecord[] {
  if (row.action !== 'create' && row.action !== 'update' && row.action !== 'delete') return []
  return [
    {
      seq: BigInt(row.seq),
      action: row.action,
      type: row.type as ResourceType,
      mesh: row.mesh,
      name: row.name,
      version: row.version,
    },
  ]
}
