#!/usr/bin/env node
// Installed, the CLI runs from dist/. In a checkout `npm ci` builds nothing, so the sources run
// through tsx (a dev dependency of the repository) with the condition that resolves workspace
// packages to their sources.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const dist = new URL('../dist/main.js', import.meta.url)
if (existsSync(dist) && !process.env.MESHCA_CLI_FROM_SOURCE) {
  const { main } = await import(dist.href)
  process.exitCode = await main(process.argv.slice(2))
} else {
  const source = fileURLToPath(new URL('../src/main.ts', import.meta.url))
  const result = spawnSync(
    process.execPath,
    ['--conditions=@meshca/source', '--import', 'tsx', source, ...process.argv.slice(2)],
    { stdio: 'inherit' }
  )
  process.exitCode = result.status ?? 1
}
