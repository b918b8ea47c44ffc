/**
 * List offsets name the last item of the previous page, never a position, so that resources
 * created or deleted between two pages make a walk neither skip nor repeat the others; the next
 * page is then `(mesh, name) > cursor`, which the primary key answers directly.
 */
export interface CursorKey {
  readonly mesh: string
  readonly name: string
}

export function encodeCursor(key: CursorKey): string {
  const bytes = new TextEncoder().encode(JSON.stringify([key.mesh, key.name]))
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

/** `undefined` when the text is not an offset this store made. */
export function decodeCursor(text: string): CursorKey | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(text) || text.length % 4 === 1) return undefined
  const padded = text
    .replaceAll('-', '+')
    .replaceAll('_', '/')
    .padEnd(Math.ceil(text.length / 4) * 4, '=')
  let decoded: unknown
  try {
    const binary = atob(padded)
    const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0))
    decoded = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    return undefined
  }
  if (!Array.isArray(decoded) || decoded.length !== 2) return undefined
  const [mesh, name] = decoded as unknown[]
  if (typeof mesh !== 'string' || typeof name !== 'string') return undefined
  // PostgreSQL text cannot hold NUL, and a lone surrogate would be silently replaced in transit.
  if (!storable(mesh) || !storable(name)) return undefined
  return { mesh, name }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Text that PostgreSQL stores exactly as given. */
export function storable(text: string): boolean {
  return !text.includes('\u0000') && !LONE_SURROGATE.test(text)
}
