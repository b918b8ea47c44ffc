#!/usr/bin/env node
// Installed, the agent runs from dist/. In a checkout `npm ci` builds nothing, so the first run
// builds it (tsc, a dev dependency of the repository) and then runs it in this same process, so
// that SIGTERM reaches the agent itself.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const dist = new URL('../dist/main.js', import.meta.url)
if (!existsSync(dist)) {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  const project = fileURLToPath(new URL('../tsconfig.json', import.meta.url))
  execFileSync(process.execPath, [tsc, '-b', project], { stdio: 'inherit' })
}
await import(dist.href)
