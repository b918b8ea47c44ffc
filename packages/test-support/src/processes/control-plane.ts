/**
 * The product as a user runs it: the control plane's Node entry (what `npm start` runs) as a child
 * process on a free port, and the `meshca` bin as another child process for every command.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root, from src/processes or dist/processes of this package. */
export const REPO = fileURLToPath(new URL('../../../..', import.meta.url))
const API_ENTRY = join(REPO, 'apps/api/dist/entry/node.js')
const DAEMON_ENTRY = join(REPO, 'apps/api/dist/entry/daemon.js')
const CLI_BIN = join(REPO, 'apps/cli/bin/meshca.mjs')

/**
 * Before the test's own flags (a later flag wins): a free metrics port, since tests run servers side
 * by side, and a small key pool, since each server would otherwise spend its first seconds of both
 * cores filling 256 RSA keys while the tests measure rotation timing.
 */
const TEST_DEFAULT_ARGS = ['--metrics-port', '0', '--signer-key-pool', '8']

/** Only the test's own settings count, not the developer's shell. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('MESHCA_'))
  )
  return { ...env, ...extra }
}

export interface ControlPlane {
  /** The API's base URL; empty for a standalone daemon. */
  readonly url: string
  readonly dataDir: string
  /** The child's process id (its `/proc/<pid>` for memory readings). */
  readonly pid: number
  /** The process has not exited. */
  alive(): boolean
  output(): string
  /** `/metrics` of the process, once its metrics server logged its address. */
  metricsUrl(): Promise<string>
  /** SIGINT, then SIGKILL after 15 s; resolves with the exit code. */
  stop(): Promise<number | null>
  /** SIGKILL: the process dies without ending a stream or writing anything. */
  kill(): Promise<void>
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `meshca-e2e-${prefix}-`))
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}

export function startControlPlane(
  options: { dataDir: string; args?: readonly string[] },
  timeoutMs = 120_000
): Promise<ControlPlane> {
  return startProcess(API_ENTRY, options, /API listening on (http:\/\/\S+)/, timeoutMs)
}

/** `npm run daemon`: the rotation daemon alone, no API. */
export function startDaemon(
  options: { dataDir: string; args?: readonly string[] },
  timeoutMs = 120_000
): Promise<ControlPlane> {
  return startProcess(DAEMON_ENTRY, options, /rotation daemon (started)/, timeoutMs)
}

async function startProcess(
  entry: string,
  options: { dataDir: string; args?: readonly string[] },
  ready: RegExp,
  timeoutMs: number
): Promise<ControlPlane> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      entry,
      '--port',
      '0',
      '--data-dir',
      options.dataDir,
      ...TEST_DEFAULT_ARGS,
      ...(options.args ?? []),
    ],
    { cwd: REPO, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] }
  )
  let output = ''
  const collect = (chunk: Buffer) => {
    output += chunk.toString()
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  const matched = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${entry} did not start in ${timeoutMs} ms:\n${output}`))
    }, timeoutMs)
    child.stdout?.on('data', () => {
      const match = ready.exec(output)
      if (match?.[1]) {
        clearTimeout(timer)
        resolve(match[1])
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${entry} exited with ${code}:\n${output}`))
    })
  })
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode)
    else child.once('exit', (code) => resolve(code))
  })
  return {
    url: matched.startsWith('http') ? matched : '',
    dataDir: options.dataDir,
    pid: child.pid ?? -1,
    alive: () => child.exitCode === null && child.signalCode === null,
    output: () => output,
    metricsUrl: async () => {
      const deadline = Date.now() + 10_000
      for (;;) {
        const match = /metrics listening on (http:\/\/\S+)/.exec(output)
        if (match?.[1]) return match[1]
        if (Date.now() > deadline) throw new Error(`no metrics address logged:\n${output}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    },
    stop: () => {
      if (child.exitCode === null) {
        const killer = setTimeout(() => child.kill('SIGKILL'), 15_000)
        void exited.then(() => clearTimeout(killer))
        child.kill('SIGINT')
      }
      return exited
    },
    kill: async () => {
      if (child.exitCode === null) child.kill('SIGKILL')
      await exited
    },
  }
}

export interface CliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs `meshca ARGS` against a control plane, feeding `stdin` when given. */
export function meshca(
  cp: { url: string },
  args: readonly string[],
  options: { stdin?: string; token?: string } = {}
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI_BIN, ...args, '--api-url', cp.url, ...(options.token ? ['--token', options.token] : [])],
      { cwd: REPO, env: cleanEnv({ HOME: tmpdir() }), timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
        resolve({ code, stdout, stderr })
      }
    )
    child.stdin?.end(options.stdin ?? '')
  })
}

/** The first `sh` block after `heading` in the root README: what a walkthrough test runs. */
export function readmeShellBlock(heading: string): string {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8')
  const at = readme.indexOf(heading)
  const block = at < 0 ? undefined : /```sh\n([\s\S]*?)```/.exec(readme.slice(at))?.[1]
  if (block === undefined)
    throw new Error(`the README has no sh block after ${JSON.stringify(heading)}`)
  return block
}
