/**
 * The listeners of one direction (inbound or outbound), kept as the configuration says: a listener
 * per `address:port`, created when it appears, updated in place while it stays (new connections
 * see the change, open ones keep going), drained and closed when it goes.
 */
import type { Logger } from '@meshca/core-mtls'

export interface ManagedListener<C> {
  update(config: C): void
  close(options: { readonly drainMs: number }): Promise<void>
}

interface Listening {
  readonly address: string
  readonly port: number
}

export const RELISTEN_DRAIN_MS = 5_000

export class ListenerSet<C extends Listening, L extends ManagedListener<C> = ManagedListener<C>> {
  readonly #open: (config: C) => Promise<L>
  readonly #logger: Logger
  readonly #direction: string
  readonly #listeners = new Map<string, L>()
  readonly #failed = new Set<string>()
  #closed = false

  constructor(direction: string, open: (config: C) => Promise<L>, logger: Logger) {
    this.#direction = direction
    this.#open = open
    this.#logger = logger
  }

  /** Listeners that could not bind (port taken, address not local): the agent is not ready. */
  get failed(): readonly string[] {
    return [...this.#failed]
  }

  async apply(configs: readonly C[]): Promise<void> {
    const wanted = new Map(configs.map((config) => [`${config.address}:${config.port}`, config]))
    const gone = [...this.#listeners.entries()].filter(([key]) => !wanted.has(key))
    for (const [key] of gone) this.#listeners.delete(key)
    const closing = gone.map(([, listener]) => listener.close({ drainMs: RELISTEN_DRAIN_MS }))
    for (const [key, config] of wanted) {
      const existing = this.#listeners.get(key)
      if (existing !== undefined) {
        existing.update(config)
        continue
      }
      if (this.#closed) break
      try {
        const listener = await this.#open(config)
        if (this.#closed) {
          // Closed while it was opening (SIGTERM during a configuration): it never serves.
          await listener.close({ drainMs: 0 })
          break
        }
        this.#listeners.set(key, listener)
        this.#failed.delete(key)
        this.#logger.log('info', `${this.#direction} listening`, { listener: key })
      } catch (error) {
        this.#failed.add(key)
        this.#logger.log('error', `${this.#direction} cannot listen`, {
          listener: key,
          error: error instanceof Error ? error.message : String(error),
        })
      }
    }
    for (const key of this.#failed) if (!wanted.has(key)) this.#failed.delete(key)
    await Promise.all(closing)
  }

  each(action: (listener: L) => void): void {
    for (const listener of this.#listeners.values()) action(listener)
  }

  /** Stops accepting everywhere at once, then lets open connections finish up to `drainMs`. */
  async close(drainMs: number): Promise<void> {
    this.#closed = true
    const all = [...this.#listeners.values()]
    this.#listeners.clear()
    await Promise.all(all.map((listener) => listener.close({ drainMs })))
  }
}
