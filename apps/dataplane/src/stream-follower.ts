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

/**
 * How long to wait before attempt `attempt` (counting from 1) after `error`: what the control plane
 * asked for with `Retry-After` (plus up to as much again, so that a fleet spreads out), else
 * exponential back-off with full jitter, at least a little.
 */
export function retryDelay(attempt: number, error?: unknown, random: () => number = Math.random) {
  if (error instanceof ControlPlaneError && error.retryAfter !== undefined) {
    return error.retryAfter * 1000 * (1 + random())
  }
  const bound = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** Math.min(attempt, 16))
  return Math.max(50, random() * bound)
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}

export class StreamFollower {
  readonly #options: StreamFollowerOptions
  readonly #abort = new AbortController()
  #loop: Promise<void> | undefined

  constructor(options: StreamFollowerOptions) {
    this.#options = options
  }

  start(): void {
    this.#loop ??= this.#run()
  }

  async stop(): Promise<void> {
    this.#abort.abort()
    await this.#loop
  }

  async #run(): Promise<void> {
    const { name, logger } = this.#options
    let attempt = 0
    while (!this.#abort.signal.aborted) {
      let failure: unknown
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
        failure = error
        await this.#recover(error)
      } finally {
        this.#options.onConnection?.(false)
      }
      if (this.#abort.signal.aborted) break
      attempt += 1
      await pause(retryDelay(attempt, failure, this.#options.random), this.#abort.signal)
    }
  }

  /** Logs a failed attempt; a 404 registers the data plane again. */
  async #recover(error: unknown): Promise<void> {
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
      return
    }
    logger.log(
      error instanceof ControlPlaneError && error.permanent ? 'error' : 'warn',
      'control plane stream failed',
      {
        stream: name,
        error: error instanceof Error ? error.message : String(error),
      }
    )
  }
}
