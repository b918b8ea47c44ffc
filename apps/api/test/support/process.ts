/**
 * The control plane as a user runs it: a child process of the runtime running the tests (Node runs
 * the built `dist/entry/node.js`, Bun runs `src/entry/bun.ts`), on a port of its choosing.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const APP_DIR = fileURLToPath(new URL('../..', import.meta.url))
export const IS_BUN = 'Bun' in globalThis

/** Node 20 cannot run TypeScript: the entry runs from `dist/`, built (incrementally) here. */
export function buildForNode(): void {
  if (IS_BUN) return
  const tsc = fileURLToPath(new URL('../../../../node_modules/typescript/bin/tsc', import.meta.url))
  execFileSync(process.execPath, [tsc, '-b', 'tsconfig.json'], { cwd: APP_DIR, stdio: 'pipe' })
}

export interface RunningControlPlane {
  readonly url: string
  readonly child: ChildProcess
  output(): string
  /** Sends the signal and resolves with the exit code. */
  stop(signal: NodeJS.Signals): Promise<number | null>
}

/**
 * Before the test's own flags (a later flag wins): a free metrics port, since tests run servers side
 * by side, and a small key pool, since each server would otherwise spend its first seconds of both
 * cores filling 256 RSA keys while the tests measure rotation timing.
 */
const TEST_DEFAULT_ARGS = ['--metrics-port', '0', '--signer-key-pool', '8']

/** Environment without the caller's MESHCA_ settings, so that only the test's flags count. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MESHCA_')))
}

/** `api`: the control plane (`npm start`); `daemon`: the rotation daemon alone (`npm run daemon`). */
export function runEntry(args: readonly string[], name: 'api' | 'daemon' = 'api'): ChildProcess {
  const source = name === 'api' ? 'src/entry/bun.ts' : 'src/entry/daemon.ts'
  const entry = IS_BUN
    ? ['--conditions=@meshca/source', source]
    : [name === 'api' ? 'dist/entry/node.js' : 'dist/entry/daemon.js']
  return spawn(process.execPath, [...entry, ...TEST_DEFAULT_ARGS, ...args], {
    cwd: APP_DIR,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

export function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)))
}

export async function startControlPlane(
  args: readonly string[],
  timeoutMs = 120_000
): Promise<RunningControlPlane> {
  const child = runEntry(args)
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the control plane did not start in ${timeoutMs} ms:\n${output}`))
    }, timeoutMs)
    const check = () => {
      const match = /API listening on (http:\/\/\S+)/.exec(output)
      if (match?.[1]) {
        clearTimeout(timer)
        resolve(match[1])
      }
    }
    child.stdout?.on('data', check)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the control plane exited with ${code}:\n${output}`))
    })
  })
  return {
    url,
    child,
    output: () => output,
    stop: (signal) => {
      const exited = exitOf(child)
      child.kill(signal)
      return exited
    },
  }
}
