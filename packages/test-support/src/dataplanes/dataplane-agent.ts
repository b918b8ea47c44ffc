/**
 * A data plane as the data plane API sees one, without Envoy: a plain HTTP client that holds the
 * identity stream open, reconnecting when it ends, as a data plane does after a control plane
 * restart.
 */
import { type IncomingMessage, request } from 'node:http'
import type { Identity } from './identity.ts'
import { parseSseBlock } from './sse.ts'

export interface Received {
  readonly identity: Identity
  /** `Date.now()` when the event was read off the socket. */
  readonly at: number
}

/**
 * One data plane holding `GET …/identity/stream` open with node:http, parsing the SSE by hand. When
 * the stream ends or cannot be opened, it tries again every `retryMs` against `baseUrl()`.
 */
export class DataplaneAgent {
  readonly received: Received[] = []
  readonly errors: string[] = []
  connections = 0
  #stopped = false
  #response: IncomingMessage | undefined
  #waiters = new Set<() => void>()
  #loop: Promise<void> | undefined

  readonly baseUrl: () => string
  readonly mesh: string
  readonly name: string
  readonly token: string
  readonly retryMs: number

  constructor(options: {
    baseUrl: () => string
    mesh: string
    name: string
    token: string
    retryMs?: number
  }) {
    this.baseUrl = options.baseUrl
    this.mesh = options.mesh
    this.name = options.name
    this.token = options.token
    this.retryMs = options.retryMs ?? 250
  }

  get current(): Identity | undefined {
    return this.received.at(-1)?.identity
  }

  start(): this {
    this.#loop = this.#run()
    return this
  }

  /** The first identity received after the `after`-th one that satisfies `accept`. */
  async next(
    after: number,
    timeoutMs: number,
    accept: (identity: Identity) => boolean = () => true
  ): Promise<Received> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.received.slice(after).find((r) => accept(r.identity))
      if (found !== undefined) return found
      const remaining = deadline - Date.now()
      if (remaining <= 0) {
        throw new Error(
          `${this.name}: no matching identity in ${timeoutMs} ms (${this.received.length} received, errors: ${this.errors.join('; ')})`
        )
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining)
        this.#waiters.add(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** Drops the open stream, as a restarted data plane would; the loop connects again. */
  reconnect(): void {
    this.#response?.destroy()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.#response?.destroy()
    await this.#loop
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        await this.#streamOnce()
      } catch (error) {
        this.errors.push(error instanceof Error ? error.message : String(error))
      }
      if (!this.#stopped) await new Promise((resolve) => setTimeout(resolve, this.retryMs))
    }
  }

  #streamOnce(): Promise<void> {
    const url = new URL(
      `${this.baseUrl()}/meshes/${this.mesh}/dataplanes/${this.name}/identity/stream`
    )
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        { headers: { authorization: `Bearer ${this.token}`, accept: 'text/event-stream' } },
        (response) => {
          if (response.statusCode !== 200) {
            response.resume()
            reject(new Error(`stream answered ${response.statusCode}`))
            return
          }
          this.connections++
          this.#response = response
          let buffer = ''
          response.setEncoding('utf8')
          response.on('data', (chunk: string) => {
            buffer += chunk
            for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
              this.#onBlock(buffer.slice(0, end))
              buffer = buffer.slice(end + 2)
            }
          })
          response.on('end', () => resolve())
          response.on('error', () => resolve())
          response.on('close', () => resolve())
        }
      )
      req.on('error', reject)
      req.end()
    })
  }

  #onBlock(block: string): void {
    const { event } = parseSseBlock(block)
    if (event?.event === 'identity') {
      this.received.push({ identity: JSON.parse(event.data) as Identity, at: Date.now() })
    } else if (event?.event === 'error') {
      this.errors.push(event.data)
    }
    for (const wake of this.#waiters) wake()
    this.#waiters.clear()
  }
}
