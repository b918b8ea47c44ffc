/** The openssl CLI, run in a throwaway folder: the one way every test reaches it. */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface OpensslResult {
  readonly ok: boolean
  /** stdout when it succeeded; stdout then stderr when it failed. */
  readonly output: string
}

/** Runs `work` in a fresh temporary folder, removed afterwards whatever happens. */
export function withTempDir<T>(work: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'meshca-openssl-'))
  try {
    return work(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content)
}

/**
 * Runs openssl in `dir` and returns stdout; a failure throws with the command and its stderr, which
 * is what a failing test needs to say why.
 */
export function runOpenssl(dir: string, args: readonly string[], input?: string): string {
  try {
    return execFileSync('openssl', args, {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(input === undefined ? {} : { input }),
    })
  } catch (error) {
    const { stderr } = error as { stderr?: string }
    throw new Error(`openssl ${args.join(' ')} failed: ${stderr ?? String(error)}`)
  }
}

/**
 * openssl on `files` (written to a temporary folder first) and `input` on stdin. Never throws: a
 * test asserting a refusal reads `ok` and the message in `output`.
 */
export function openssl(
  args: readonly string[],
  files: Record<string, string> = {},
  input?: string
): OpensslResult {
  return withTempDir((dir) => {
    writeFiles(dir, files)
    try {
      const output = execFileSync('openssl', args, {
        cwd: dir,
        encoding: 'utf8',
        stdio: ['pipe', 'pipe', 'pipe'],
        ...(input === undefined ? {} : { input }),
      })
      return { ok: true, output }
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string }
      return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` }
    }
  })
}

/** Like `openssl`, for a command that must succeed: its stdout, or an error with its output. */
export function opensslOk(
  args: readonly string[],
  files: Record<string, string> = {},
  input?: string
): string {
  const result = openssl(args, files, input)
  if (!result.ok) throw new Error(`openssl ${args.join(' ')} failed: ${result.output}`)
  return result.output
}

/** Runs openssl commands one after another in one temporary folder; returns the files they wrote. */
export function opensslFiles(
  commands: readonly (readonly string[])[],
  inputs: Record<string, string>,
  outputs: readonly string[]
): Record<string, string> {
  return withTempDir((dir) => {
    writeFiles(dir, inputs)
    for (const args of commands) runOpenssl(dir, args)
    return Object.fromEntries(outputs.map((name) => [name, readFileSync(join(dir, name), 'utf8')]))
  })
}
