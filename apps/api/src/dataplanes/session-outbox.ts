/**
 * The events waiting for one session's stream, written one at a time in order, with heartbeats
 * between them while the stream is idle. A data plane that reads slowly only ever has the newest
 * identity (and configuration) waiting.
 */

/** Events of which only the newest matters: a queued one is replaced by the next. */
const LATEST_ONLY = new Set(['identity', 'config'])

/** How long the last `error` event of a stream may take to write. */
const END_WRITE_TIMEOUT_MS = 1_000

/** Where a session's events go: the SSE stream in the API, a list in unit tests. */
export interface EventSink {
  send(event: string, data: string, id: string): Promise<void>
  comment(text: string): Promise<void>
  /** Ends the stream. */
  close(): void
}

interface QueuedEvent {
  readonly event: string
  readonly data: string
}

export class SessionOutbox {
  readonly #events: QueuedEvent[] = []
  readonly #heartbeatIntervalMs: number
  readonly #onWriteFailed: (error: unknown) => void
  #sink: EventSink | undefined
  #sequence = 0
  #writing = false
  #heartbeat: ReturnType<typeof setInterval> | undefined
  #closed = false

  /** `onWriteFailed` hears a failed write; the events still queued stay unsent. */
  constructor(heartbeatIntervalMs: number, onWriteFailed: (error: unknown) => void) {
    this.#heartbeatIntervalMs = heartbeatIntervalMs
    this.#onWriteFailed = onWriteFailed
  }

  get attached(): boolean {
    return this.#sink !== undefined
  }

  /** Starts writing to `sink`: what is queued at once, then heartbeats. Only the first one counts. */
  attach(sink: EventSink): void {
    if (this.#closed || this.#sink !== undefined) return
    this.#sink = sink
    if (this.#heartbeatIntervalMs > 0) {
      this.#heartbeat = setInterval(() => this.#sendHeartbeat(), this.#heartbeatIntervalMs)
      this.#heartbeat.unref?.()
    }
    this.#pump()
  }

  enqueue(event: string, data: string): void {
    if (LATEST_ONLY.has(event)) {
      // Only the newest one matters to a data plane that has not read the previous one.
      for (let i = this.#events.length - 1; i >= 0; i--) {
        if (this.#events[i]?.event === event) this.#events.splice(i, 1)
      }
    }
    this.#events.push({ event, data })
    this.#pump()
  }

  /**
   * Writes one event ahead of the queue, before the stream closes; a stalled reader does not hold
   * the session open. Nothing happens before a sink is attached.
   */
  async sendLast(event: string, data: string): Promise<void> {
    const sink = this.#sink
    if (sink === undefined) return
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([
      sink.send(event, data, String(++this.#sequence)).catch(() => {}),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, END_WRITE_TIMEOUT_MS)
      }),
    ])
    clearTimeout(timer)
  }

  /** Stops writing and heartbeats, and ends the stream. */
  close(): void {
    this.#closed = true
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat)
    this.#sink?.close()
  }

  #pump(): void {
    if (this.#writing || this.#sink === undefined || this.#closed) return
    const target = this.#sink
    this.#writing = true
    void (async () => {
      try {
        for (let next = this.#events.shift(); next !== undefined; next = this.#events.shift()) {
          if (this.#closed) return
          this.#sequence += 1
          await target.send(next.event, next.data, String(this.#sequence))
        }
      } catch (error) {
        this.#onWriteFailed(error)
      } finally {
        this.#writing = false
      }
    })()
  }

  #sendHeartbeat(): void {
    // A stream still busy with an event is alive enough; heartbeats must not pile up behind it.
    if (this.#writing || this.#sink === undefined || this.#closed) return
    this.#writing = true
    this.#sink
      .comment('heartbeat')
      .catch(() => undefined)
      .finally(() => {
        this.#writing = false
        this.#pump()
      })
  }
}
