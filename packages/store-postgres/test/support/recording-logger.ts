import type { Logger, LogLevel } from '@meshca/core-mtls'

export interface LogEntry {
  readonly level: LogLevel
  readonly message: string
  readonly fields: Readonly<Record<string, unknown>>
}

export interface RecordingLogger extends Logger {
  readonly entries: LogEntry[]
}

export function recordingLogger(): RecordingLogger {
  const entries: LogEntry[] = []
  return {
    entries,
    log(level, message, fields = {}) {
      entries.push({ level, message, fields })
    },
  }
}

export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
