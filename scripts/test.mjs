#!/usr/bin/env node
// `npm test`: typecheck, lint, every workspace's tests on Node (through turbo), then the
// runtime-neutral packages again under Bun and Deno. Each vitest run writes a JSON report; the
// totals are printed at the end as one `N passed, N failed` line.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const resultsDir = join(root, '.test-results')
rmSync(resultsDir, { recursive: true, force: true })
mkdirSync(resultsDir, { recursive: true })

/** Packages whose suites must also pass on Bun and Deno, with the files to run there when not all. */
const crossRuntime = [
  { dir: 'packages/core-mtls', files: [] },
  // Its vitest config limits Bun and Deno to the pool smoke tests (test/runtime).
  { dir: 'packages/signer-workers', files: [] },
  {
    dir: 'packages/store-postgres',
    files: [
      'src',
      'test/runtime-smoke.integration.test.ts',
      'test/pglite-store.integration.test.ts',
      'test/pglite-session.integration.test.ts',
      'test/pglite-data-dir-lock.integration.test.ts',
      'test/postgres-store.integration.test.ts',
      'test/postgres-read-cache.integration.test.ts',
      'test/both-drivers.integration.test.ts',
      'test/watch-resume.integration.test.ts',
    ],
  },
]

function run(title, command, args, env = {}) {
  console.log(`\n▶ ${title}: ${command} ${args.join(' ')}`)
  const started = Date.now()
  const result = spawnSync(command, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...env },
  })
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  const ok = result.status === 0
  console.log(`${ok ? '✔' : '✖'} ${title} (${seconds}s)`)
  return ok
}

const steps = []
steps.push(['typecheck', run('typecheck', 'npx', ['tsc', '-b'])])
steps.push(['lint', run('lint', 'npx', ['biome', 'ci', '.'])])
steps.push([
  'tests on Node',
  run('tests on Node', 'npx', ['turbo', 'run', 'test', '--concurrency=1', '--output-logs=full'], {
    MESHCA_TEST_RESULTS: join(resultsDir, 'node'),
  }),
])
const RUNTIME_COMMANDS = {
  bun: ['bun', '--bun', 'node_modules/vitest/vitest.mjs', 'run'],
  deno: ['deno', 'run', '-A', 'node_modules/vitest/vitest.mjs', 'run'],
}

/** One workspace's vitest suite on another runtime, its report beside the others of that runtime. */
function runOn(runtime, dir, files = []) {
  const title = `${dir.split('/').pop()} on ${runtime[0].toUpperCase()}${runtime.slice(1)}`
  const ok = run(title, 'npx', [...RUNTIME_COMMANDS[runtime], '--root', dir, ...files], {
    MESHCA_EXPECT_RUNTIME: runtime,
    MESHCA_TEST_RESULTS: join(resultsDir, runtime),
  })
  steps.push([title, ok])
}

for (const { dir, files } of crossRuntime) {
  runOn('bun', dir, files)
  runOn('deno', dir, files)
}
/** Apps run on Node and Bun (design.md: "apps at least on Bun"). */
runOn('bun', 'apps/api')
runOn('bun', 'apps/rotation-daemon')

let passed = 0
let failed = 0
let skipped = 0
const missingReports = []
for (const runtime of ['node', 'bun', 'deno']) {
  const dir = join(resultsDir, runtime)
  const files = existsSync(dir) ? readdirSync(dir) : []
  // A runner that exits 0 without writing its report proves nothing: count it as a failure.
  if (files.length === 0) missingReports.push(runtime)
  for (const file of files) {
    const report = JSON.parse(readFileSync(join(dir, file), 'utf8'))
    const skippedHere = report.numPendingTests + report.numTodoTests
    console.log(
      `  ${runtime.padEnd(5)} ${file.replace(/\.json$/, '').padEnd(24)} ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skippedHere} skipped`
    )
    passed += report.numPassedTests
    failed += report.numFailedTests
    skipped += skippedHere
    if (report.success === false && report.numFailedTests === 0) {
      // A suite that failed to load has no failed test but must still fail the run.
      failed += 1
    }
  }
}
for (const runtime of missingReports) {
  steps.push([`test report for ${runtime}`, false])
}
const failedSteps = steps.filter(([, ok]) => !ok).map(([name]) => name)
console.log('')
if (failedSteps.length > 0) console.log(`failed steps: ${failedSteps.join(', ')}`)
if (passed === 0) console.log('no test ran')
console.log(`${passed} passed, ${failed + failedSteps.length} failed, ${skipped} skipped`)
process.exit(failedSteps.length === 0 && failed === 0 && passed > 0 ? 0 : 1)
