/**
 * What a process uses, from Linux's `/proc/<pid>`: its resident memory (sampled while a test runs)
 * and the CPU time it has spent, all threads included.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

export const MIB = 1024 * 1024

/** `VmRSS` in bytes, or `undefined` when the process is gone (or this is not Linux). */
export function residentBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]
    return kib === undefined ? undefined : Number(kib) * 1024
  } catch {
    return undefined
  }
}

export interface RssSampler {
  /** The largest reading so far, in bytes (0 before any). */
  peak(): number
  readings(): number
  stop(): void
}

/** Reads the process's RSS every `intervalMs` until stopped; `sample()` adds a reading at once. */
export function sampleRss(pid: number, intervalMs = 100): RssSampler & { sample(): void } {
  let peak = 0
  let readings = 0
  const sample = () => {
    const bytes = residentBytes(pid)
    if (bytes === undefined) return
    readings++
    peak = Math.max(peak, bytes)
  }
  sample()
  const timer = setInterval(sample, intervalMs)
  timer.unref()
  return {
    sample,
    peak: () => peak,
    readings: () => readings,
    stop: () => clearInterval(timer),
  }
}

let ticksPerSecond: number | undefined

/** User plus system CPU time of the process, in milliseconds (10 ms resolution on most systems). */
export function cpuMillis(pid: number): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  return (ticks * 1000) / ticksPerSecond
}
