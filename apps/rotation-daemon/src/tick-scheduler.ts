/**
 * Runs ticks one at a time, on a period and on demand: a tick asked for while one runs waits
 * behind it, and is shared by everyone who asks meanwhile.
 */
export class TickScheduler<T> {
  readonly #run: () => Promise<T>
  readonly #onError: (error: unknown) => void
  readonly #intervalMs: number
  #running: Promise<T> | undefined
  #queued: Promise<T> | undefined
  #timer: ReturnType<typeof setTimeout> | undefined
  #closed = false

  constructor(run: () => Promise<T>, intervalMs: number, onError: (error: unknown) => void) {
    this.#run = run
    this.#intervalMs = intervalMs
    this.#onError = onError
  }

  /** Runs one tick now (after the running one, if any). */
  tick(): Promise<T> {
    if (this.#running === undefined) {
      this.#running = this.#run().finally(() => {
        this.#running = undefined
      })
      return this.#running
    }
    this.#queued ??= this.#running
      .catch(() => undefined)
      .then(() => {
        this.#queued = undefined
        return this.tick()
      })
    return this.#queued
  }

  /** Ticks after `delayMs`, then every period; a later call moves the next tick. */
  schedule(delayMs: number): void {
    if (this.#closed) return
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    const timer = setTimeout(() => {
      this.#timer = undefined
      this.tick()
        .catch(this.#onError)
        .finally(() => this.schedule(this.#intervalMs))
    }, delayMs)
    // The daemon never keeps a process alive on its own.
    if (typeof timer === 'object' && timer !== null && 'unref' in timer) timer.unref()
    this.#timer = timer
  }

  /** No more ticks are scheduled; resolves once the running one ended. */
  async close(): Promise<void> {
    this.#closed = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    await this.#running?.catch(() => undefined)
  }
}
