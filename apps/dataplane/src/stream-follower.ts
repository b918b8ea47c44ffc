/**
 * Keeps one stream of the control plane open: reads its events, and when it ends or cannot be
 * opened, tries again after a back-off with full jitter (so that a fleet does not reconnect in
 * step after a control plane restart). The data plane keeps serving with what it has meanwhile.
 */
import type { Logger } from '@meshca/core-mtls'
import { ControlPlaneError } from './control-plane-api.ts'
import { type ServerEvent, serverEvents } from './sse-reader.ts'

export const RECONNECT_BASE_MS = 250
export const RECONNECT_MAX_MS = 15_000
/** A stream that stayed open this long was healthy: the back-off starts again from the bottom. */
export const HEALTHY_STREAM_MS = 30_000

export interface StreamFollowerOptions {
  readonly name: string
  /** Opens the stream; called for each attempt. */
  open(signal: AbortSignal): Promise<ReadableStream<Uint8Array>>
  onEvent(event: ServerEvent): void
  /** The stream is refused because the data plane is not registered (a 404): register again. */
  onNotRegistered?(): Promise<void>
  onConnection?(connected: boolean): void
  readonly logger: Logger
  readonly random?: () => number
}

export class StreamFollower {
  readonly #options: StreamFollowerOptions
  readonly #abort = new AbortController()
  #loop: Promise<void> | undefined
  #wake: (() => void) | undefined

  constructor(options: StreamFollowerOptions) {
    this.#options = options
  }

  start(): void {
    this.#loop ??= this.#run()
  }

  async stop(): Promise<void> {
    this.#abort.abort()
    this.#wake?.()
    await this.#loop
  }

  async #run(): Promise<void> {
    const { name, logger } = this.#options
    let attempt = 0
    while (!this.#abort.signal.aborted) {
      let delayMs: number | undefined
      try {
        const body = await this.#options.open(this.#abort.signal)
        const opened = Date.now()
        this.#options.onConnection?.(true)
        logger.log('debug', 'control plane stream open', { stream: name })
        for await (const event of serverEvents(body)) {
          // Not reset by the first event: a server that sends one and hangs up must not be
          // reconnected to twice a second forever.
          if (attempt > 0 && Date.now() - opened >= HEALTHY_STREAM_MS) attempt = 0
          this.#options.onEvent(event)
        }
        if (Date.now() - opened >= HEALTHY_STREAM_MS) attempt = 0
        logger.log('info', 'control plane stream ended, reconnecting', { stream: name })
      } catch (error) {
        if (this.#abort.signal.aborted) break
        delayMs = await this.#recover(error)
      } finally {
        this.#options.onConnection?.(false)
      }
      if (this.#abort.signal.aborted) break
      attempt += 1
      await this.#sleep(delayMs ?? this.#backoff(attempt))
    }
  }

  /** What to do about a failed attempt; a delay when the control plane asked for one. */
  async #recover(error: unknown): Promise<number | undefined> {
    const { name, logger } = this.#options
    if (
      error instanceof ControlPlaneError &&
      error.status === 404 &&
      this.#options.onNotRegistered
    ) {
      logger.log('warn', 'the control plane does not know this data plane: registering again', {
        stream: name,
      })
      await this.#options.onNotRegistered().catch((cause: unknown) => {
        logger.log('error', 'could not register again', { error: String(cause) })
      })
      return undefined
    }
    logger.log(
      error instanceof ControlPlaneError && error.permanent ? 'error' : 'warn',
      'control plane stream failed',
      {
        stream: name,
        error: error instanceof Error ? error.message : String(error),
      }
    )
    if (error instanceof ControlPlaneError && error.retryAfter !== undefined) {
      return error.retryAfter * 1000 * (1 + this.#random())
    }
    return undefined
  }

  /** Full jitter: anywhere up to the exponential bound, at least a little. */
  #backoff(attempt: number): number {
    const bound = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** Math.min(attempt, 16))
    return Math.max(50, this.#random() * bound)
  }

  #random(): number {
    return (this.#options.random ?? Math.random)()
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.#wake = done
    })
  }
}
