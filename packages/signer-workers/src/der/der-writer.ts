/**
 * The few DER encoders the leaf templates need. They run once per CA, so they favour clarity over
 * speed; the per-certificate path writes into preallocated buffers instead (`leaf-encoder.ts`).
 */

/** Bytes a DER length field takes for a content of `length` bytes. */
export function derLengthSize(length: number): number {
  if (length < 0x80) return 1
  if (length < 0x100) return 2
  if (length < 0x10000) return 3
  if (length < 0x1000000) return 4
  return 5
}

/** Writes a DER length at `offset`; returns the offset after it. */
export function writeDerLength(target: Uint8Array, offset: number, length: number): number {
  if (length < 0x80) {
    target[offset] = length
    return offset + 1
  }
  const size = derLengthSize(length) - 1
  target[offset] = 0x80 | size
  for (let i = size; i >= 1; i--) {
    target[offset + i] = length & 0xff
    length >>>= 8
  }
  return offset + size + 1
}

export function tlv(tag: number, ...contents: readonly Uint8Array[]): Uint8Array {
  let length = 0
  for (const part of contents) length += part.length
  const out = new Uint8Array(1 + derLengthSize(length) + length)
  out[0] = tag
  let offset = writeDerLength(out, 1, length)
  for (const part of contents) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/** An OBJECT IDENTIFIER TLV from its dotted form. */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number)
  const [first = 0, second = 0, ...rest] = arcs
  const bytes: number[] = []
  for (const arc of [first * 40 + second, ...rest]) {
    const chunk: number[] = [arc & 0x7f]
    let value = Math.floor(arc / 128)
    while (value > 0) {
      chunk.unshift((value & 0x7f) | 0x80)
      value = Math.floor(value / 128)
    }
    bytes.push(...chunk)
  }
  return tlv(0x06, new Uint8Array(bytes))
}

export const DER_NULL: Uint8Array = new Uint8Array([0x05, 0x00])

export const TAG_INTEGER = 0x02
export const TAG_BIT_STRING = 0x03
export const TAG_OCTET_STRING = 0x04
export const TAG_OID = 0x06
export const TAG_UTC_TIME = 0x17
export const TAG_GENERALIZED_TIME = 0x18
export const TAG_SEQUENCE = 0x30
export const TAG_SET = 0x31
