/** What core needs from its host runtime, injected so that core runs anywhere and tests control time. */

export interface Clock {
  now(): Date
}

export const systemClock: Clock = { now: () => new Date() }

export interface Random {
  /** Cryptographically secure random bytes. */
  bytes(length: number): Uint8Array
  /** A uniform float in [0, 1); used for jitter, never for secrets. */
  unit(): number
}

export function webRandom(crypto: Crypto = globalThis.crypto): Random {
  return {
    bytes: (length) => crypto.getRandomValues(new Uint8Array(length)),
    unit: () => {
      const word = crypto.getRandomValues(new Uint32Array(1))[0] ?? 0
      return word / 0x1_0000_0000
    },
  }
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export function isLogLevel(text: string): text is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(text)
}

export interface Logger {
  log(level: LogLevel, message: string, fields?: Readonly<Record<string, unknown>>): void
}

export const silentLogger: Logger = { log: () => {} }

/**
 * Reads a file from the control plane's file system (the `file` data source): a regular file of at
 * most `maxBytes`, whatever else the path names (a device, a pipe, a directory) is refused. Hosts
 * give it only when an operator turned `file` sources on.
 */
export type ReadFile = (path: string, maxBytes: number) => Promise<Uint8Array>
