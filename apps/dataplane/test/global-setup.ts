/**
 * The agent's tests run `meshca-dp` as users do, from its build on Node: build it first (turbo
 * builds the workspaces it depends on, not the workspace itself). Incremental, so quick when fresh.
 */
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export default function setup(): void {
  const tsc = fileURLToPath(new URL('../../../node_modules/typescript/bin/tsc', import.meta.url))
  const project = fileURLToPath(new URL('../tsconfig.json', import.meta.url))
  execFileSync(process.execPath, [tsc, '-b', project], { stdio: 'inherit' })
}
