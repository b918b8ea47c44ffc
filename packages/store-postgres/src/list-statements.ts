/**
 * The store's lists: filtering and paging in SQL, with cursor offsets, one statement per
 * combination of filters (a shape), each prepared once.
 */
import { and, eq, gt, sql } from 'drizzle-orm'
import type { StoreDriver } from './driver.ts'
import { PreparedQuery } from './prepared-query.ts'
import type { ListRow, ResourcesTable } from './resource-rows.ts'
import { listColumns, valuesOf } from './resource-rows.ts'

/** Which of the optional filters a list has. */
export interface ListShape {
  readonly mesh: boolean
  readonly nameContains: boolean
  readonly after: boolean
}

export function shapeId(shape: ListShape): string {
  return `${Number(shape.mesh)}${Number(shape.nameContains)}${Number(shape.after)}`
}

/** The list statements of one resources table, built and prepared when a shape is first listed. */
export class ListStatements {
  readonly #driver: StoreDriver
  readonly #r: ResourcesTable
  readonly #byShape = new Map<string, PreparedQuery<ListRow>>()

  constructor(driver: StoreDriver, r: ResourcesTable) {
    this.#driver = driver
    this.#r = r
  }

  /** May throw, the first time a shape is listed, if its statement cannot be built. */
  of(shape: ListShape): PreparedQuery<ListRow> {
    const id = shapeId(shape)
    let query = this.#byShape.get(id)
    if (query === undefined) {
      query = new PreparedQuery(this.#driver, listQuery(this.#driver, this.#r, shape), listColumns)
      this.#byShape.set(id, query)
    }
    return query
  }
}

/**
 * One statement, so that the items and the total come from the same snapshot; the left join keeps
 * the total when the page is empty. Columns: total, then a ValueRow's, then mesh and name.
 */
function listQuery({ db }: StoreDriver, r: ResourcesTable, shape: ListShape) {
  const matching = and(
    eq(r.type, sql.placeholder('type')),
    shape.mesh ? eq(r.mesh, sql.placeholder('mesh')) : undefined,
    // strpos, not LIKE: `_` and `%` in the filter are literal characters.
    shape.nameContains
      ? gt(sql`strpos(${r.name}, ${sql.placeholder('nameContains')})`, 0)
      : undefined
  )
  const pageQuery = page(db, r, matching, shape.after)
  const countQuery = db
    .select({ total: sql<number>`count(*)::int4`.as('total') })
    .from(r)
    .where(matching)
    .as('counted')
  return db
    .select({
      total: countQuery.total,
      version: pageQuery.version,
      creationMs: pageQuery.creationMs,
      modificationMs: pageQuery.modificationMs,
      spec: pageQuery.spec,
      mesh: pageQuery.mesh,
      name: pageQuery.name,
    })
    .from(countQuery)
    .leftJoinLateral(pageQuery, sql`true`)
    .orderBy(pageQuery.mesh, pageQuery.name)
}

/** The page's rows: those `matching`, after the cursor's key if `after`, up to the limit. */
function page(
  db: StoreDriver['db'],
  r: ResourcesTable,
  matching: ReturnType<typeof and>,
  after: boolean
) {
  const values = valuesOf(r)
  return db
    .select({
      mesh: sql<string>`${r.mesh}`.as('page_mesh'),
      name: sql<string>`${r.name}`.as('page_name'),
      version: sql<string>`${values.version}`.as('page_version'),
      creationMs: sql<number>`${values.creationMs}`.as('page_creation_ms'),
      modificationMs: sql<number>`${values.modificationMs}`.as('page_modification_ms'),
      spec: sql<string>`${r.spec}`.as('page_spec'),
    })
    .from(r)
    .where(
      and(
        matching,
        after
          ? sql`(${r.mesh}, ${r.name}) > (${sql.placeholder('afterMesh')}, ${sql.placeholder('afterName')})`
          : undefined
      )
    )
    .orderBy(r.mesh, r.name)
    .limit(sql.placeholder('limit'))
    .as('page')
}
