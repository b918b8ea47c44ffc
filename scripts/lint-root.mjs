#!/usr/bin/env node
// `npm run lint`'s root task: biome on what no workspace lints, the files and folders of the
// repository outside the workspaces (scripts/, docs/, infra/, the root configs). Each workspace
// lints itself; together they cover what `biome ci .` at the root covers.
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))

// Workspaces are `dir` or `parent/*`: the first are left out whole, the second but for loose files.
const workspaceDirs = new Set(workspaces.filter((pattern) => !pattern.endsWith('/*')))
const workspaceParents = new Set(
  workspaces.filter((pattern) => pattern.endsWith('/*')).map((pattern) => pattern.slice(0, -2))
)

/** The files of a folder of workspaces (`apps/README.md`) that are not workspaces themselves. */
function looseEntries(dir) {
  return readdirSync(join(root, dir), { withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => `${dir}/${entry.name}`)
}

const entries = readdirSync(root).flatMap((name) => {
  if (name === '.git' || workspaceDirs.has(name)) return []
  return workspaceParents.has(name) ? looseEntries(name) : [name]
})
// What git ignores (node_modules, .turbo, …) biome would skip anyway; naming it would be an error.
const ignored = new Set(
  spawnSync('git', ['check-ignore', ...entries], { cwd: root, encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean)
)
const paths = entries.filter((path) => !ignored.has(path))
const result = spawnSync('npx', ['biome', 'ci', ...process.argv.slice(2), ...paths], {
  cwd: root,
  stdio: 'inherit',
})
process.exit(result.status ?? 1)
