const decoder = new TextDecoder()

export class ByteReader {
  readonly #bytes: Uint8Array
  readonly #view: DataView
  #offset = 0

  constructor(buffer: ArrayBuffer) {
    this.#bytes = new Uint8Array(buffer)
    this.#view = new DataView(buffer)
  }

  get done(): boolean {
    return this.#offset >= this.#bytes.length
  }

  u8(): number {
    const value = this.#view.getUint8(this.#offset)
    this.#offset += 1
    return value
  }

  u16(): number {
    const value = this.#view.getUint16(this.#offset)
    this.#offset += 2
    return value
  }

  u32(): number {
    const value = this.#view.getUint32(this.#offset)
    this.#offset += 4
    return value
  }

  f64(): number {
    const value = this.#view.getFloat64(this.#offset)
    this.#offset += 8
    return value
  }

  /** A view of the next `length` bytes. */
  fixed(length: number): Uint8Array {
    const start = this.#offset
    this.#offset += length
    if (this.#offset > this.#bytes.length) throw new RangeError('read past the end of the message')
    return this.#bytes.subarray(start, this.#offset)
  }

  /** A view of the next length-prefixed block; it shares the message's buffer. */
  block(): Uint8Array {
    return this.fixed(this.u32())
  }

  /** A copy of the next block with its own ArrayBuffer, for values handed to callers. */
  blockCopy(): Uint8Array<ArrayBuffer> {
    return this.block().slice()
  }

  text(): string {
    return decoder.decode(this.block())
  }
}
