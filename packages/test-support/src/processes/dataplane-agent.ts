/**
 * `meshca-dp run` as a user runs it: a child process on Node (the built `dist/main.js`) or on Bun
 * (from source), with its Dataplane file and token in a temporary directory.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO } from './control-plane.ts'

export type AgentRuntime = 'node' | 'bun'

export interface AgentOptions {
  readonly cpUrl: string
  readonly token: string
  /** The Dataplane YAML, a template for `vars`. */
  readonly dataplane: string
  readonly vars?: Readonly<Record<string, string>>
  readonly runtime?: AgentRuntime
  readonly args?: readonly string[]
}

export interface RunningAgent {
  /** `http://127.0.0.1:<admin port>`. */
  readonly adminUrl: string
  readonly pid: number
  output(): string
  alive(): boolean
  /** Sends the signal (default SIGTERM) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

function command(runtime: AgentRuntime): string[] {
  if (runtime === 'bun') {
    return [
      join(REPO, 'node_modules/.bin/bun'),
      '--conditions=@meshca/source',
      join(REPO, 'apps/dataplane/src/main.ts'),
    ]
  }
  return [process.execPath, join(REPO, 'apps/dataplane/dist/main.js')]
}

/** Starts an agent and resolves once it reports ready (or rejects with its output). */
export async function startAgent(options: AgentOptions, timeoutMs = 60_000): Promise<RunningAgent> {
  const dir = mkdtempSync(join(tmpdir(), 'meshca-dp-'))
  writeFileSync(join(dir, 'dataplane.yaml'), options.dataplane)
  writeFileSync(join(dir, 'token'), options.token, { mode: 0o600 })
  const vars = Object.entries(options.vars ?? {}).flatMap(([k, v]) => [
    '--dataplane-var',
    `${k}=${v}`,
  ])
  const [bin = process.execPath, ...entry] = command(options.runtime ?? 'node')
  const child: ChildProcess = spawn(
    bin,
    [
      ...entry,
      'run',
      '--cp-address',
      options.cpUrl,
      '--dataplane-file',
      join(dir, 'dataplane.yaml'),
      '--dataplane-token-file',
      join(dir, 'token'),
      '--admin-port',
      '0',
      ...vars,
      ...(options.args ?? []),
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }
  )
  let output = ''
  const collect = (chunk: Buffer) => {
    output += chunk.toString()
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code))
  )
  void exited.then(() => rmSync(dir, { recursive: true, force: true }))
  const port = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`meshca-dp did not get ready in ${timeoutMs} ms:\n${output}`))
    }, timeoutMs)
    child.stdout?.on('data', () => {
      const match = /data plane ready .*admin=(\d+)/.exec(output)
      if (match?.[1]) {
        clearTimeout(timer)
        resolve(match[1])
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`meshca-dp exited with ${code}:\n${output}`))
    })
  })
  return {
    adminUrl: `http://127.0.0.1:${port}`,
    pid: child.pid ?? -1,
    output: () => output,
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
}
