/**
 * Logs refused connections without flooding: the first refusal of a (listener, reason, peer) is
 * logged, the next ones in the same interval are only counted, and the count is logged with the first
 * refusal of a later interval. Keys are bounded, so a peer that varies its identity costs memory only
 * up to `maxKeys`.
 */
import type { Logger } from '@meshca/core-mtls'
import { LruMap } from '@meshca/core-mtls/adapter-kit'

export interface DenialLogOptions {
  /** Default 60 s. */
  readonly intervalMs?: number
  /** Default 1024. */
  readonly maxKeys?: number
  readonly now?: () => number
}

interface Window {
  start: number
  suppressed: number
}

export class DenialLog {
  readonly #logger: Logger
  readonly #intervalMs: number
  readonly #now: () => number
  readonly #windows: LruMap<string, Window>

  constructor(logger: Logger, options: DenialLogOptions = {}) {
    this.#logger = logger
    this.#intervalMs = options.intervalMs ?? 60_000
    this.#now = options.now ?? Date.now
    this.#windows = new LruMap(options.maxKeys ?? 1024)
  }

  /** A refused connection on `listener`; `peer` is the client's identity, or its address. */
  record(
    listener: string,
    reason: string,
    peer: string,
    fields: Record<string, unknown> = {}
  ): void {
    const key = `${listener}\n${reason}\n${peer}`
    const now = this.#now()
    const window = this.#windows.get(key)
    if (window !== undefined && now - window.start < this.#intervalMs) {
      window.suppressed += 1
      return
    }
    const suppressed = window?.suppressed ?? 0
    this.#windows.set(key, { start: now, suppressed: 0 })
    this.#logger.log('warn', 'connection refused', {
      listener,
      reason,
      peer,
      ...fields,
      ...(suppressed > 0 ? { suppressedSinceLastLog: suppressed } : {}),
    })
  }
}
