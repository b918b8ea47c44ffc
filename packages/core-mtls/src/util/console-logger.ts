/** A line-per-event logger for a process (control plane, data plane): `time LEVEL message key=value …`. */
import type { Logger, LogLevel } from '../ports/runtime.ts'

const RANK: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 }

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[\w./:@+-]*$/.test(value) ? value : JSON.stringify(value)
  if (value instanceof Date) return value.toISOString()
  return JSON.stringify(value) ?? String(value)
}

export function createConsoleLogger(
  level: LogLevel,
  /** Where lines go, e.g. `(line) => process.stdout.write(line)`. */
  write: (line: string) => void
): Logger {
  const threshold = RANK[level]
  return {
    log(eventLevel, message, fields = {}) {
      if (RANK[eventLevel] < threshold) return
      const pairs = Object.entries(fields)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => ` ${k}=${formatValue(v)}`)
        .join('')
      write(
        `${new Date().toISOString()} ${eventLevel.toUpperCase().padEnd(5)} ${message}${pairs}\n`
      )
    },
  }
}
