import type { ListCursor } from '@meshca/core-mtls'
import { decodeListCursor, encodeListCursor } from '@meshca/core-mtls'

/**
 * Core's list offsets, restricted to text this store can hold: the next page is then
 * `(mesh, name) > cursor`, which the primary key answers directly.
 */
export const encodeCursor: (key: ListCursor) => string = encodeListCursor

/** `undefined` when the text is not an offset this store made. */
export function decodeCursor(text: string): ListCursor | undefined {
  const cursor = decodeListCursor(text)
  return cursor !== undefined && storableCursor(cursor) ? cursor : undefined
}

/** PostgreSQL text cannot hold NUL, and a lone surrogate would be silently replaced in transit. */
export function storableCursor(cursor: ListCursor): boolean {
  return storable(cursor.mesh) && storable(cursor.name)
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Text that PostgreSQL stores exactly as given. */
export function storable(text: string): boolean {
  return !text.includes('\u0000') && !LONE_SURROGATE.test(text)
}
