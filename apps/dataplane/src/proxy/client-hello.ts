/**
 * Reads the first bytes of a connection as Envoy's TLS inspector does: plaintext, or a TLS
 * ClientHello and the ALPN protocols it offers. The bytes come from anyone who can connect, so every
 * length is checked against what is there and nothing is waited for beyond one TLS record.
 */

/** A TLS record holds at most 2^14 bytes of handshake, after its 5-byte header. */
export const MAX_CLIENT_HELLO_BYTES = 5 + 16_384

const HANDSHAKE_RECORD = 0x16
const CLIENT_HELLO = 0x01
const ALPN_EXTENSION = 0x0010

export type ClientHelloSniff =
  /** Not TLS (the first byte is not a TLS handshake record): a plaintext protocol. */
  | { readonly kind: 'plaintext' }
  /** A prefix of a TLS record: more bytes are needed to decide. */
  | { readonly kind: 'incomplete' }
  /**
   * A ClientHello; `alpn` is what its ALPN extension offers, empty without one. Only the first
   * record is read: a ClientHello spread over several records is judged on the part it holds.
   */
  | { readonly kind: 'tls'; readonly alpn: readonly string[] }
  /** A TLS handshake record that is no well-formed ClientHello: the connection is closed. */
  | { readonly kind: 'invalid'; readonly reason: string }

const PLAINTEXT: ClientHelloSniff = { kind: 'plaintext' }
const INCOMPLETE: ClientHelloSniff = { kind: 'incomplete' }

function invalid(reason: string): ClientHelloSniff {
  return { kind: 'invalid', reason }
}

/**
 * Classifies the first bytes of a connection. Never throws; `incomplete` only while the bytes are a
 * prefix of one record, so a caller that stops at `MAX_CLIENT_HELLO_BYTES` always gets an answer.
 */
export function sniffClientHello(bytes: Uint8Array): ClientHelloSniff {
  if (bytes.length === 0) return INCOMPLETE
  // An SSLv2-style hello (0x80…) is not TLS we speak: it reads as plaintext, like Envoy's inspector.
  if (bytes[0] !== HANDSHAKE_RECORD) return PLAINTEXT
  if (bytes.length < 2) return INCOMPLETE
  if (bytes[1] !== 0x03) return PLAINTEXT
  if (bytes.length < 5) return INCOMPLETE
  const recordLength = ((bytes[3] ?? 0) << 8) | (bytes[4] ?? 0)
  if (recordLength === 0 || recordLength > MAX_CLIENT_HELLO_BYTES - 5) {
    return invalid('bad record length')
  }
  if (bytes.length < 5 + recordLength) {
    // The handshake type is known from the 6th byte: no need to wait for the rest of garbage.
    if (bytes.length > 5 && bytes[5] !== CLIENT_HELLO) return invalid('not a ClientHello')
    return INCOMPLETE
  }
  return parseClientHello(bytes.subarray(5, 5 + recordLength))
}

/** A bounds-checked reader over one record's bytes; `ok` turns false on the first overrun. */
class Reader {
  ok = true
  readonly bytes: Uint8Array
  readonly end: number
  #at = 0

  constructor(bytes: Uint8Array, end = bytes.length) {
    this.bytes = bytes
    this.end = end
  }

  get at(): number {
    return this.#at
  }

  uint(size: 1 | 2 | 3): number {
    if (this.#at + size > this.end) {
      this.ok = false
      return 0
    }
    let value = 0
    for (let i = 0; i < size; i++) value = value * 256 + (this.bytes[this.#at + i] ?? 0)
    this.#at += size
    return value
  }

  skip(count: number): void {
    if (this.#at + count > this.end) this.ok = false
    else this.#at += count
  }

  /** A sub-reader over the next `length` bytes, skipped here. */
  slice(length: number): Reader {
    const start = this.#at
    this.skip(length)
    const sub = new Reader(this.bytes, this.ok ? start + length : start)
    sub.#at = start
    sub.ok = this.ok
    return sub
  }
}

function parseClientHello(record: Uint8Array): ClientHelloSniff {
  const reader = new Reader(record)
  if (reader.uint(1) !== CLIENT_HELLO) return invalid('not a ClientHello')
  const declared = reader.uint(3)
  // A ClientHello longer than the record continues in the next one: read what this one holds.
  const body = reader.slice(Math.min(declared, record.length - reader.at))
  body.skip(2 + 32) // legacy_version, random
  body.skip(body.uint(1)) // legacy_session_id
  body.skip(body.uint(2)) // cipher_suites
  body.skip(body.uint(1)) // legacy_compression_methods
  if (!body.ok) return invalid('truncated ClientHello')
  if (body.at === body.end) return { kind: 'tls', alpn: [] }
  const extensions = body.slice(body.uint(2))
  let alpn: readonly string[] = []
  while (extensions.ok && extensions.at < extensions.end) {
    const type = extensions.uint(2)
    const data = extensions.slice(extensions.uint(2))
    if (!extensions.ok) break
    if (type === ALPN_EXTENSION) alpn = readAlpn(data)
  }
  // A cut extension list is what a multi-record ClientHello looks like: keep what was read.
  if (!extensions.ok && declared <= record.length - 4) return invalid('malformed extensions')
  return { kind: 'tls', alpn }
}

function readAlpn(data: Reader): string[] {
  const list = data.slice(data.uint(2))
  const protocols: string[] = []
  while (list.ok && list.at < list.end) {
    const length = list.uint(1)
    const start = list.at
    list.skip(length)
    if (!list.ok || length === 0) break
    protocols.push(String.fromCharCode(...list.bytes.subarray(start, start + length)))
  }
  return protocols
}
