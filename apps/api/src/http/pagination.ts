/**
 * Kuma's list pagination (docs/kuma-compatibility.md §9.2): `size` (default 100, at most 1000) and
 * an opaque `offset`; responses are `{total, items, next}` with `next` the absolute URL of the
 * following page or `null`.
 */
import {
  DEFAULT_PAGE_SIZE,
  isMeshcaError,
  type JsonObject,
  type JsonValue,
  type ListOptions,
  MAX_PAGE_SIZE,
} from '@meshca/core-mtls'
import type { Context } from 'hono'
import type { AppEnv } from '../context.ts'
import { ApiProblem } from './api-problem.ts'
import { TITLES } from './titles.ts'

export interface PageRequest {
  readonly size: number
  readonly offset?: string
}

const INVALID_PAGE_SIZE = 'Invalid page size'
const INVALID_OFFSET = 'Invalid offset'

export function pageRequest(c: Context<AppEnv>): PageRequest {
  const sizeText = c.req.query('size')
  const offset = c.req.query('offset')
  let size = DEFAULT_PAGE_SIZE
  if (sizeText !== undefined && sizeText !== '') {
    if (!/^[0-9]+$/.test(sizeText)) {
      throw new ApiProblem(400, INVALID_PAGE_SIZE, {
        causes: [{ field: 'size', message: 'Invalid format' }],
      })
    }
    size = Number(sizeText)
    if (size > MAX_PAGE_SIZE) {
      throw new ApiProblem(400, INVALID_PAGE_SIZE, {
        causes: [
          {
            field: 'size',
            message: `Invalid page size of ${sizeText}. Maximum page size is ${MAX_PAGE_SIZE}`,
          },
        ],
      })
    }
    if (size < 1) {
      throw new ApiProblem(400, INVALID_PAGE_SIZE, {
        causes: [
          { field: 'size', message: `Invalid page size of ${size}. Minimum page size is 1` },
        ],
      })
    }
  }
  return offset === undefined || offset === '' ? { size } : { size, offset }
}

export function invalidOffset(): ApiProblem {
  return new ApiProblem(400, INVALID_OFFSET, {
    causes: [{ field: 'offset', message: 'Invalid format' }],
  })
}

/** Runs a store listing, turning the store's refusal of an offset into Kuma's `Invalid offset`. */
export async function listing<T>(list: () => Promise<T>): Promise<T> {
  try {
    return await list()
  } catch (error) {
    if (isMeshcaError(error, 'INVALID') && error.violations.some((v) => v.field === 'offset')) {
      throw invalidOffset()
    }
    throw error
  }
}

/** The list body; `next` keeps the request's URL and query, with `offset` (and `size`) replaced. */
export function listBody(c: Context<AppEnv>, page: Page<JsonValue>, size: number): JsonObject {
  let next: string | null = null
  if (page.next !== undefined) {
    const url = new URL(c.req.url)
    url.searchParams.set('offset', page.next)
    url.searchParams.set('size', String(size))
    next = url.toString()
  }
  return { total: page.total, items: [...page.items], next }
}

export interface Page<T> {
  readonly items: readonly T[]
  readonly total: number
  readonly next?: string
}

/**
 * A list route: page and `name` (substring) from the query, the store's listing, Kuma's body.
 * `list` receives the store options; `toJson` renders one item.
 */
export async function listResponse<T>(
  c: Context<AppEnv>,
  list: (options: ListOptions) => Promise<Page<T>>,
  toJson: (item: T) => JsonValue
): Promise<Response> {
  c.set('errorTitle', TITLES.list)
  const page = pageRequest(c)
  const nameContains = c.req.query('name')
  const result = await listing(() => list({ ...page, ...(nameContains ? { nameContains } : {}) }))
  return c.json(listBody(c, { ...result, items: result.items.map(toJson) }, page.size))
}

/**
 * Pagination of a list built in memory (overviews, which filter on tags): the offset is the decimal
 * index of the first item, as Kuma's offsets are in practice.
 */
export function pageInMemory<T>(items: readonly T[], request: PageRequest): Page<T> {
  let start = 0
  if (request.offset !== undefined) {
    if (!/^[0-9]+$/.test(request.offset)) throw invalidOffset()
    start = Number(request.offset)
  }
  const end = start + request.size
  const slice = items.slice(start, end)
  return end < items.length
    ? { items: slice, total: items.length, next: String(end) }
    : { items: slice, total: items.length }
}
