/**
 * The product as a user runs it: the control plane's Node entry (what `npm start` runs) as a child
 * process on a free port, and the `meshca` bin as another child process for every command.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO = fileURLToPath(new URL('../..', import.meta.url))
const API_ENTRY = join(REPO, 'apps/api/dist/entry/node.js')
const CLI_BIN = join(REPO, 'apps/cli/bin/meshca.mjs')

/** Only the test's own settings count, not the developer's shell. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('MESHCA_'))
  )
  return { ...env, ...extra }
}

export interface ControlPlane {
  readonly url: string
  readonly dataDir: string
  output(): string
  stop(): Promise<number | null>
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `meshca-e2e-${prefix}-`))
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}

export async function startControlPlane(
  options: { dataDir: string; args?: readonly string[] },
  timeoutMs = 60_000
): Promise<ControlPlane> {
  const child: ChildProcess = spawn(
    process.execPath,
    [API_ENTRY, '--port', '0', '--data-dir', options.dataDir, ...(options.args ?? [])],
    { cwd: REPO, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] }
  )
  let output = ''
  const collect = (chunk: Buffer) => {
    output += chunk.toString()
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the control plane did not start in ${timeoutMs} ms:\n${output}`))
    }, timeoutMs)
    child.stdout?.on('data', () => {
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match?.[1]) {
        clearTimeout(timer)
        resolve(match[1])
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the control plane exited with ${code}:\n${output}`))
    })
  })
  return {
    url,
    dataDir: options.dataDir,
    output: () => output,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode)
        const killer = setTimeout(() => child.kill('SIGKILL'), 15_000)
        child.once('exit', (code) => {
          clearTimeout(killer)
          resolve(code)
        })
        child.kill('SIGINT')
      }),
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
