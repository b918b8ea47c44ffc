import { type ListOptions, MAX_PAGE_SIZE, type Store, type StoredResource } from '../ports/store.ts'
import type { ResourceType } from '../resources/types.ts'

/** Bounds the paging: a store that keeps answering `next` must not keep a caller forever. */
const MAX_PAGES = 100_000

/**
 * The rows of `type` matching `options`, page after page of the largest size, straight from the
 * store (`list` never answers from a cache). Each page is as committed when it was read.
 */
export async function* storedPages(
  store: Store,
  type: ResourceType,
  options: Omit<ListOptions, 'size' | 'offset'> = {}
): AsyncGenerator<readonly StoredResource[]> {
  let offset: string | undefined
  for (let page = 0; page < MAX_PAGES; page++) {
    const listed = await store.list(type, {
      ...options,
      size: MAX_PAGE_SIZE,
      ...(offset === undefined ? {} : { offset }),
    })
    yield listed.items
    offset = listed.next
    if (offset === undefined) return
  }
}
