/**
 * Child processes running `data-dir-holder.ts` on the runtime running the tests (Node through tsx,
 * Bun and Deno natively), read line by line.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const HOLDER = fileURLToPath(new URL('./data-dir-holder.ts', import.meta.url))
const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url))

/** The command that runs a TypeScript file of this repository on this runtime. */
function runOnThisRuntime(file: string, args: readonly string[]): [string, string[]] {
  const conditions = '--conditions=@meshca/source'
  if ('Bun' in globalThis) return [process.execPath, [conditions, file, ...args]]
  if ('Deno' in globalThis) return [process.execPath, ['run', '-A', conditions, file, ...args]]
  return [process.execPath, ['--import', 'tsx', conditions, file, ...args]]
}

export interface HolderProcess {
  readonly child: ChildProcess
  /** The next line it printed; fails once it exited without one. */
  nextLine(): Promise<string>
  send(line: string): void
  /** Its exit code (`null` when killed by a signal). */
  readonly exited: Promise<number | null>
  output(): string
}

/** Starts a holder of `dir` (`mode`: see data-dir-holder.ts) and waits until it is `ready`. */
export async function startHolder(mode: 'store' | 'lock', dir: string): Promise<HolderProcess> {
  const [command, args] = runOnThisRuntime(HOLDER, [mode, dir])
  const child = spawn(command, args, { cwd: PACKAGE_DIR, stdio: ['pipe', 'pipe', 'pipe'] })
  let output = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  // A holder that refused has exited: what is sent to it is dropped.
  child.stdin?.on('error', () => undefined)
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  const pending: string[] = []
  const waiting: ((line: string | undefined) => void)[] = []
  lines.on('line', (line) => {
    output += `${line}\n`
    const waiter = waiting.shift()
    if (waiter === undefined) pending.push(line)
    else waiter(line)
  })
  lines.on('close', () => {
    for (const waiter of waiting.splice(0)) waiter(undefined)
  })
  let closed = false
  lines.once('close', () => {
    closed = true
  })
  const holder: HolderProcess = {
    child,
    exited,
    output: () => output,
    send: (line) => {
      if (child.exitCode === null) child.stdin?.write(`${line}\n`)
    },
    async nextLine() {
      const line =
        pending.shift() ??
        (closed ? undefined : await new Promise<string | undefined>((r) => waiting.push(r)))
      if (line === undefined) {
        throw new Error(`the holder exited with ${await exited}:\n${output}`)
      }
      return line
    },
  }
  const first = await holder.nextLine()
  if (first !== 'ready') throw new Error(`the holder did not start:\n${output}`)
  return holder
}
