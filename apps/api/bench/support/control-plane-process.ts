/**
 * A control plane as the benchmarks run it: the built Node entry as a child process, on a port of
 * its choosing, so that the load generator does not share its event loop.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const APP_DIR = fileURLToPath(new URL('../..', import.meta.url))

/** How much of the server's output is kept for error messages; it logs a line per token. */
const KEPT_OUTPUT_CHARS = 64 * 1024

/** Node 20 cannot run TypeScript: the entry runs from `dist/`, built (incrementally) here. */
export function buildApi(): void {
  const tsc = fileURLToPath(new URL('../../../../node_modules/typescript/bin/tsc', import.meta.url))
  execFileSync(process.execPath, [tsc, '-b', 'tsconfig.json'], { cwd: APP_DIR, stdio: 'inherit' })
}

export interface ControlPlaneProcess {
  readonly url: string
  readonly pid: number | undefined
  /** The last 64 KiB the server printed. */
  output(): string
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>
}

/** The environment without the caller's MESHCA_ settings: only the bench's flags count. */
function benchEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const kept = Object.entries(process.env).filter(([k]) => !k.startsWith('MESHCA_'))
  return { ...Object.fromEntries(kept), ...extra }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

export async function startControlPlaneProcess(
  args: readonly string[],
  env: Record<string, string>,
  options: { readonly nodeArgs?: readonly string[]; readonly timeoutMs?: number } = {}
): Promise<ControlPlaneProcess> {
  const timeoutMs = options.timeoutMs ?? 60_000
  const nodeArgs = options.nodeArgs ?? []
  const child = spawn(process.execPath, [...nodeArgs, 'dist/entry/node.js', ...args], {
    cwd: APP_DIR,
    env: benchEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const onData = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-KEPT_OUTPUT_CHARS)
    if (process.env.MESHCA_BENCH_DEBUG) process.stderr.write(chunk)
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  const stop = async (graceMs = 10_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const killer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    child.kill('SIGTERM')
    await exited(child)
    clearTimeout(killer)
  }
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the control plane did not start in ${timeoutMs} ms:\n${output}`)),
        timeoutMs
      )
      const check = () => {
        const match = /API listening on (http:\/\/\S+)/.exec(output)
        if (!match?.[1]) return
        clearTimeout(timer)
        resolve(match[1])
      }
      child.stdout.on('data', check)
      child.stderr.on('data', check)
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        reject(new Error(`the control plane exited (${code ?? signal}):\n${output}`))
      })
    })
    return { url, pid: child.pid, output: () => output, stop }
  } catch (error) {
    await stop(1000)
    throw error
  }
}
