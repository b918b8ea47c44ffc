/**
 * Child processes the bench starts, and their end: every child is registered, and the bench's
 * exit, Ctrl-C (SIGINT) or SIGTERM stops them all (SIGTERM, then SIGKILL for what is left).
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'

const children = new Set<ChildProcess>()
const cleanups: (() => void)[] = []

export function onCleanup(cleanup: () => void): void {
  cleanups.push(cleanup)
}

function killAll(signal: NodeJS.Signals): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
  }
}

let exiting = false
process.on('exit', () => {
  killAll('SIGKILL')
  for (const cleanup of cleanups.splice(0)) cleanup()
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (exiting) return
    exiting = true
    console.error(`\n[bench] ${signal}: stopping the bench's processes`)
    void stopAll().finally(() => process.exit(130))
  })
}

/** Spawns `command` as a registered child; its output goes to ours with `[name]` in front. */
export function start(
  name: string,
  command: string,
  args: readonly string[],
  options: SpawnOptions = {}
): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options })
  children.add(child)
  child.once('exit', () => children.delete(child))
  const prefix = (chunk: Buffer) =>
    chunk
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((line) => `[${name}] ${line}\n`)
      .join('')
  let recent = ''
  const keep = (chunk: Buffer) => {
    recent = (recent + chunk.toString()).slice(-4000)
    if (process.env.MESHCA_BENCH_DEBUG) process.stderr.write(prefix(chunk))
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  child.once('exit', (code, signal) => {
    if (!exiting && !stopping.has(child)) {
      process.stderr.write(`[bench] ${name} exited (${signal ?? code}) unexpectedly:\n${recent}\n`)
    }
  })
  Object.defineProperty(child, 'recentOutput', { get: () => recent })
  return child
}

/** The last few kilobytes the child printed. */
export function recentOutput(child: ChildProcess): string {
  return (child as ChildProcess & { recentOutput?: string }).recentOutput ?? ''
}

const stopping = new Set<ChildProcess>()

export function stop(child: ChildProcess, timeoutMs = 3000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    stopping.add(child)
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((child) => stop(child)))
}

/** Resolves with the first IPC message of `child` that `accept` takes. */
export function message<T>(child: ChildProcess, accept: (m: unknown) => m is T): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown) => {
      if (!accept(m)) return
      child.off('message', onMessage)
      child.off('exit', onExit)
      resolve(m)
    }
    const onExit = (code: number | null) =>
      reject(new Error(`exited (${code}) before answering:\n${recentOutput(child)}`))
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}

/** A port of 127.0.0.1 free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** Resolves once 127.0.0.1:`port` accepts a connection; rejects when `child` exits first. */
export async function listening(port: number, child: ChildProcess, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`exited (${child.exitCode ?? child.signalCode}):\n${recentOutput(child)}`)
    }
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline)
      throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const TICKS_PER_SECOND = 100

/** CPU seconds (user + system) `pid` used so far, from /proc; 0 where there is no /proc. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
  } catch {
    return 0
  }
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2
}

/** The `q` quantile (0–1) of ascending `sorted`. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN
}
