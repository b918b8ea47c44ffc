const encoder = new TextEncoder()

/**
 * A growable buffer for the messages between the pool and its workers. One ArrayBuffer per batch
 * is transferred instead of cloning an object graph per certificate.
 */
export class ByteWriter {
  #bytes: Uint8Array<ArrayBuffer>
  #view: DataView<ArrayBuffer>
  #length = 0

  constructor(initialCapacity = 4096) {
    this.#bytes = new Uint8Array(initialCapacity)
    this.#view = new DataView(this.#bytes.buffer)
  }

  get length(): number {
    return this.#length
  }

  /** Makes room for `size` more bytes and returns the offset where they start. */
  reserve(size: number): number {
    const needed = this.#length + size
    if (needed > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(needed, this.#bytes.length * 2))
      grown.set(this.#bytes.subarray(0, this.#length))
      this.#bytes = grown
      this.#view = new DataView(grown.buffer)
    }
    const offset = this.#length
    this.#length = needed
    return offset
  }

  /** The underlying array, for writers that fill a reserved range themselves. */
  get bytes(): Uint8Array<ArrayBuffer> {
    return this.#bytes
  }

  u8(value: number): void {
    const offset = this.reserve(1)
    this.#bytes[offset] = value
  }

  u16(value: number): void {
    const offset = this.reserve(2)
    this.#view.setUint16(offset, value)
  }

  u32(value: number): void {
    const offset = this.reserve(4)
    this.#view.setUint32(offset, value)
  }

  f64(value: number): void {
    const offset = this.reserve(8)
    this.#view.setFloat64(offset, value)
  }

  /** A u32 length, then the bytes. */
  block(bytes: Uint8Array): void {
    this.u32(bytes.length)
    this.raw(bytes)
  }

  /** The bytes, without a length. */
  raw(bytes: Uint8Array): void {
    // reserve() may swap the backing array, so it must run before the array is read.
    const offset = this.reserve(bytes.length)
    this.#bytes.set(bytes, offset)
  }

  /** A u32 length, then the UTF-8 of `text`. */
  text(text: string): void {
    const lengthAt = this.reserve(4)
    const start = this.reserve(text.length * 3)
    const { written } = encoder.encodeInto(text, this.#bytes.subarray(start))
    this.#view.setUint32(lengthAt, written)
    this.#length = start + written
  }

  /** The written bytes as a tight ArrayBuffer, ready to be transferred. */
  finish(): ArrayBuffer {
    return this.#length === this.#bytes.length
      ? this.#bytes.buffer
      : this.#bytes.buffer.slice(0, this.#length)
  }
}
