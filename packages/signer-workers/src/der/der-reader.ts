/** A minimal DER reader: enough to take a CA certificate and a SubjectPublicKeyInfo apart. */

export interface DerElement {
  readonly tag: number
  /** Offset of the tag byte in the source. */
  readonly start: number
  /** Offset of the first content byte. */
  readonly contentStart: number
  /** Offset just past the element. */
  readonly end: number
}

export class DerError extends Error {
  override readonly name = 'DerError'
}

/** Reads the element at `offset`, checking that it fits inside `limit`. */
export function readElement(source: Uint8Array, offset: number, limit = source.length): DerElement {
  if (offset + 2 > limit) throw new DerError('truncated DER element')
  const tag = source[offset] ?? 0
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte DER tags are not supported')
  let cursor = offset + 1
  const first = source[cursor++] ?? 0
  let length = first
  if (first & 0x80) {
    const size = first & 0x7f
    // Indefinite lengths (BER) and lengths beyond 4 bytes have no place in a certificate.
    if (size === 0 || size > 4) throw new DerError('unsupported DER length')
    if (cursor + size > limit) throw new DerError('truncated DER length')
    length = 0
    for (let i = 0; i < size; i++) length = length * 256 + (source[cursor++] ?? 0)
    if (length < 0x80 || (size > 1 && source[cursor - size] === 0)) {
      throw new DerError('non-minimal DER length')
    }
  }
  const end = cursor + length
  if (end > limit) throw new DerError('DER element overruns its container')
  return { tag, start: offset, contentStart: cursor, end }
}

/** The elements directly inside a constructed element. */
export function children(source: Uint8Array, parent: DerElement): DerElement[] {
  const out: DerElement[] = []
  let offset = parent.contentStart
  while (offset < parent.end) {
    const element = readElement(source, offset, parent.end)
    out.push(element)
    offset = element.end
  }
  return out
}

export function expectTag(element: DerElement | undefined, tag: number, what: string): DerElement {
  if (!element || element.tag !== tag) throw new DerError(`expected ${what}`)
  return element
}

export function bytesOf(source: Uint8Array, element: DerElement): Uint8Array {
  return source.subarray(element.start, element.end)
}

/** Dotted form of an OBJECT IDENTIFIER's content. */
export function oidToString(content: Uint8Array): string {
  if (content.length === 0) throw new DerError('empty OBJECT IDENTIFIER')
  const arcs: number[] = []
  let value = 0
  for (const byte of content) {
    value = value * 128 + (byte & 0x7f)
    if ((byte & 0x80) === 0) {
      arcs.push(value)
      value = 0
    }
  }
  const [head = 0, ...rest] = arcs
  const first = head < 80 ? Math.floor(head / 40) : 2
  return [first, head - first * 40, ...rest].join('.')
}
