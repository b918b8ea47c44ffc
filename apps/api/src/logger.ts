/** A line-per-event logger for the control plane process: `time LEVEL message key=value …`. */
import type { Logger, LogLevel } from '@meshca/core-mtls'

const RANK: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 }

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[\w./:@+-]*$/.test(value) ? value : JSON.stringify(value)
  if (value instanceof Date) return value.toISOString()
  return JSON.stringify(value) ?? String(value)
}

export function createConsoleLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stdout.write(line)
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
