/**
 * Vitest global setup: the pool runs its worker from dist/ (Node 20 cannot run TypeScript), so the
 * package is compiled first. `tsc -b` is incremental: a built tree costs a second.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const packageDir = fileURLToPath(new URL('../..', import.meta.url))
const workerFile = join(packageDir, 'dist/workers/issue.worker.js')

function newestSource(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path))
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      newest = Math.max(newest, statSync(path).mtimeMs)
    }
  }
  return newest
}

function workerIsFresh(): boolean {
  return (
    existsSync(workerFile) && statSync(workerFile).mtimeMs >= newestSource(join(packageDir, 'src'))
  )
}

export default function setup(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  // `node` rather than process.execPath: under Bun or Deno the compiler still runs on Node.
  const result = spawnSync('node', [tsc, '-b', join(packageDir, 'tsconfig.json')], {
    encoding: 'utf8',
  })
  if (result.status === 0) return
  // Type errors elsewhere in the repository (tsc -b also checks core-mtls) fail `npm run typecheck`;
  // they need not stop these tests as long as the worker itself was emitted.
  if (workerIsFresh()) {
    console.warn(`tsc -b reported errors; testing the emitted worker anyway:\n${result.stdout}`)
    return
  }
  throw new Error(`could not build @meshca/signer-workers:\n${result.stdout}${result.stderr}`)
}
