/**
 * The kernel's TCP counters that explain connection errors in a storm (Linux only): a burst of
 * connections beyond the server's listen backlog overflows its accept queue, the kernel answers with
 * SYN cookies, and a cookie that no longer validates resets the connection (the client sees
 * ECONNRESET on a request it has sent). Elsewhere, or unreadable, the counters are empty.
 */
import { readFileSync } from 'node:fs'

const WATCHED = ['ListenOverflows', 'ListenDrops', 'SyncookiesSent', 'SyncookiesFailed']

export type TcpCounters = Readonly<Record<string, number>>

export function readTcpCounters(): TcpCounters {
  let text: string
  try {
    text = readFileSync('/proc/net/netstat', 'utf8')
  } catch {
    return {}
  }
  const lines = text.split('\n').filter((line) => line.startsWith('TcpExt:'))
  const names = lines[0]?.split(/\s+/).slice(1) ?? []
  const values = lines[1]?.split(/\s+/).slice(1) ?? []
  const counters: Record<string, number> = {}
  names.forEach((name, i) => {
    if (WATCHED.includes(name)) counters[name] = Number(values[i])
  })
  return counters
}

/** What grew between two readings (every process on the machine counts). */
export function tcpCountersSince(before: TcpCounters, after: TcpCounters): TcpCounters {
  return Object.fromEntries(
    Object.entries(after).map(([name, value]) => [name, value - (before[name] ?? 0)])
  )
}
