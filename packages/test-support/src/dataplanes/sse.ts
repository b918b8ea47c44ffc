/** Server-Sent Events as a data plane reads them off the identity stream. */
import type { Identity } from './identity.ts'

export interface SseEvent {
  readonly event: string
  readonly data: string
  readonly id?: string
}

/** One block (the text between blank lines): its event, if it has a field, and its comment lines. */
export function parseSseBlock(block: string): { event?: SseEvent; comments: string[] } {
  let event = 'message'
  let id: string | undefined
  const data: string[] = []
  const comments: string[] = []
  let fields = 0
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) {
      comments.push(line.slice(1).trim())
      continue
    }
    const colon = line.indexOf(':')
    const name = colon < 0 ? line : line.slice(0, colon)
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
    fields++
    if (name === 'event') event = value
    else if (name === 'data') data.push(value)
    else if (name === 'id') id = value
  }
  if (fields === 0) return { comments }
  return { event: { event, data: data.join('\n'), ...(id === undefined ? {} : { id }) }, comments }
}

/** Reads Server-Sent Events (and comment lines) off a fetch response body. */
export class SseReader {
  readonly comments: string[] = []
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>
  readonly #decoder = new TextDecoder()
  #buffer = ''
  #done = false

  constructor(response: Response) {
    if (response.body === null) throw new Error('the response has no body')
    this.#reader = response.body.getReader()
  }

  get done(): boolean {
    return this.#done
  }

  /** The next event, or `undefined` when the stream ended; fails after `timeoutMs`. */
  async next(timeoutMs = 10_000): Promise<SseEvent | undefined> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const event = this.#takeEvent()
      if (event !== undefined) return event
      if (this.#done) return undefined
      const remaining = deadline - Date.now()
      if (remaining <= 0) throw new Error(`no event within ${timeoutMs} ms`)
      let timer: ReturnType<typeof setTimeout> | undefined
      const chunk = await Promise.race([
        this.#reader.read(),
        new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), remaining)
        }),
      ])
      clearTimeout(timer)
      if (chunk === 'timeout') throw new Error(`no event within ${timeoutMs} ms`)
      if (chunk.done) this.#done = true
      else this.#buffer += this.#decoder.decode(chunk.value, { stream: true })
    }
  }

  /** The next event, which must be an identity. */
  async nextIdentity(timeoutMs = 10_000): Promise<Identity> {
    const event = await this.next(timeoutMs)
    if (event?.event !== 'identity') {
      throw new Error(`expected an identity, got ${JSON.stringify(event)}`)
    }
    return JSON.parse(event.data) as Identity
  }

  cancel(): Promise<void> {
    return this.#reader.cancel()
  }

  #takeEvent(): SseEvent | undefined {
    for (;;) {
      const end = this.#buffer.indexOf('\n\n')
      if (end < 0) return undefined
      const { event, comments } = parseSseBlock(this.#buffer.slice(0, end))
      this.#buffer = this.#buffer.slice(end + 2)
      this.comments.push(...comments)
      if (event !== undefined) return event
    }
  }
}
