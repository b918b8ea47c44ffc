#!/usr/bin/env node
// `npm test`: typecheck and lint (turbo tasks of every workspace), then two lanes side by side:
// every workspace's tests on Node (through turbo, which goes on past a failing workspace), and the
// suites of the workspaces that declare other runtimes (`meshca.testRuntimes` in their
// package.json) again under Bun and Deno, on the files their vitest config picks there. Most of a
// suite's time is waiting (processes starting, certificates expiring, servers answering), so two
// lanes take little more than the longer one. Each vitest run writes a JSON report named after its
// package. At the end: one line per suite, the suites and tasks that failed by name, and last the
// totals as one `N passed, N failed, N skipped` line.
import { spawn, spawnSync } from 'node:child_process'
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const resultsDir = join(root, '.test-results')
rmSync(resultsDir, { recursive: true, force: true })
mkdirSync(resultsDir, { recursive: true })

const RUNTIME_NAMES = { node: 'Node', bun: 'Bun', deno: 'Deno' }

const RUNTIME_COMMANDS = {
  bun: ['bun', '--bun', 'node_modules/vitest/vitest.mjs', 'run'],
  deno: ['deno', 'run', '-A', 'node_modules/vitest/vitest.mjs', 'run'],
}

/**
 * Runs a step of the second lane with its output kept in a log, printed whole when it ends so that
 * it does not interleave with the first lane's; resolves with its exit code (null: a signal).
 */
function runQuietly(title, command, args, env = {}) {
  const log = join(resultsDir, `${title.replaceAll(' ', '-')}.log`)
  const started = Date.now()
  return new Promise((resolve) => {
    const out = createWriteStream(log)
    const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env } })
    child.stdout.pipe(out, { end: false })
    child.stderr.pipe(out, { end: false })
    child.on('close', (code) => {
      out.end(() => {
        const seconds = ((Date.now() - started) / 1000).toFixed(1)
        process.stdout.write(
          `\n▶ ${title}: ${command} ${args.join(' ')}\n${readFileSync(log, 'utf8')}${code === 0 ? '✔' : '✖'} ${title} (${seconds}s)\n`
        )
        resolve(code)
      })
    })
  })
}

/** Runs a step with its output shown; returns its exit code (null when a signal ended it). */
function run(title, command, args, env = {}) {
  console.log(`\n▶ ${title}: ${command} ${args.join(' ')}`)
  const started = Date.now()
  const result = spawnSync(command, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...env },
  })
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  console.log(`${result.status === 0 ? '✔' : '✖'} ${title} (${seconds}s)`)
  return result.status
}

function exitText(exitCode) {
  if (exitCode === undefined) return 'never ran'
  return exitCode === null ? 'killed' : `exit code ${exitCode}`
}

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'))
}

/**
 * The workspaces with a `test` script, the report each one's vitest config writes (the package name
 * without its scope: `@meshca/api` → `api.json` in MESHCA_TEST_RESULTS) and the runtimes its suite
 * runs on (`meshca.testRuntimes`, Node alone when it says nothing).
 */
function testWorkspaces() {
  const dirs = readJson(join(root, 'package.json')).workspaces.flatMap((pattern) => {
    if (!pattern.endsWith('/*')) return [pattern]
    const parent = pattern.slice(0, -2)
    return readdirSync(join(root, parent), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => `${parent}/${entry.name}`)
  })
  return dirs.flatMap((dir) => {
    const file = join(root, dir, 'package.json')
    if (!existsSync(file)) return []
    const { name, scripts, meshca } = readJson(file)
    const runtimes = meshca?.testRuntimes ?? ['node']
    for (const runtime of runtimes) {
      if (!RUNTIME_NAMES[runtime]) throw new Error(`${dir}: unknown test runtime ${runtime}`)
    }
    return scripts?.test ? [{ dir, name, report: name.replace(/^@[^/]+\//, ''), runtimes }] : []
  })
}

/**
 * The exit code of every task of the turbo run whose `--summarize` file appeared in .turbo/runs
 * (undefined for a task that never ran; the file is removed once read), or undefined when there is
 * no such file: turbo itself failed.
 */
function turboTaskExits(runsDir, before) {
  const added = existsSync(runsDir) ? readdirSync(runsDir).filter((f) => !before.has(f)) : []
  if (added.length !== 1) return undefined
  const path = join(runsDir, added[0])
  const summary = readJson(path)
  rmSync(path, { force: true })
  return new Map(summary.tasks.map((task) => [task.taskId, task.execution?.exitCode]))
}

const steps = []
const suites = []

const workspaces = testWorkspaces()
const runsDir = join(root, '.turbo', 'runs')
const summaries = () => new Set(existsSync(runsDir) ? readdirSync(runsDir) : [])
checks()
const summariesBefore = summaries()
await Promise.all([nodeLane(), otherRuntimesLane()])

/**
 * typecheck and lint, each a turbo task of every workspace (lint:root: the files outside them);
 * a failing task does not stop the others, and each one that failed is named.
 */
function checks() {
  const before = summaries()
  const tasks = ['typecheck', 'lint', 'lint:root']
  const args = ['turbo', 'run', ...tasks, '--continue=always', '--output-logs=full', '--summarize']
  const turboExit = run('typecheck and lint', 'npx', args)
  const taskExits = turboTaskExits(runsDir, before) ?? new Map()
  for (const [taskId, exitCode] of taskExits) steps.push({ title: taskId, exitCode })
  const taskFailed = [...taskExits.values()].some((exitCode) => exitCode !== 0)
  // Named only when no task explains why turbo failed.
  if (!taskFailed) steps.push({ title: 'typecheck and lint (turbo)', exitCode: turboExit })
}

/** Every workspace's suite on Node, through turbo. */
async function nodeLane() {
  // --continue=always: a failing workspace (or build) does not keep the later ones from running.
  const turboArgs = ['run', 'test', '--concurrency=1', '--continue=always', '--output-logs=full']
  const title = 'tests on Node'
  console.log(`\n▶ ${title}: npx turbo ${turboArgs.join(' ')} --summarize`)
  const started = Date.now()
  const turboExit = await new Promise((resolve) => {
    const child = spawn('npx', ['turbo', ...turboArgs, '--summarize'], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, MESHCA_TEST_RESULTS: join(resultsDir, 'node') },
    })
    child.on('close', resolve)
  })
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  console.log(`${turboExit === 0 ? '✔' : '✖'} ${title} (${seconds}s)`)
  const taskExits = turboTaskExits(runsDir, summariesBefore)
  for (const { name, report } of workspaces) {
    suites.push({ runtime: 'node', report, exitCode: taskExits?.get(`${name}#test`) })
  }
  // Tasks other than the suites (builds the tests depend on) count as steps of their own.
  const suiteTasks = new Set(workspaces.map(({ name }) => `${name}#test`))
  for (const [taskId, exitCode] of taskExits ?? []) {
    if (!suiteTasks.has(taskId)) steps.push({ title: `${taskId} on Node`, exitCode, node: true })
  }
  // Named only when no suite or task on Node explains why turbo failed.
  steps.push({ title: 'tests on Node (turbo)', exitCode: turboExit, node: true, fallback: true })
}

/** One workspace's vitest suite on another runtime, its report beside the others of that runtime. */
async function runOn(runtime, { dir, report }) {
  const title = `${report} on ${RUNTIME_NAMES[runtime]}`
  const args = [...RUNTIME_COMMANDS[runtime], '--root', dir]
  const exitCode = await runQuietly(title, 'npx', args, {
    MESHCA_EXPECT_RUNTIME: runtime,
    MESHCA_TEST_RESULTS: join(resultsDir, runtime),
  })
  suites.push({ runtime, report, exitCode })
}

/** Every suite on each runtime other than Node that its workspace declares, one after another. */
async function otherRuntimesLane() {
  for (const workspace of workspaces) {
    for (const runtime of workspace.runtimes) {
      if (runtime !== 'node') await runOn(runtime, workspace)
    }
  }
}

summarize()

/**
 * One line per suite, then what failed by name, then the totals. A suite fails when a test failed,
 * when a file failed to load (`success: false`), when it wrote no report (it crashed or never ran)
 * or when its process exited non-zero; one that failed without a failed test counts as one failure.
 */
function summarize() {
  let passed = 0
  let failed = 0
  let skipped = 0
  const failures = []
  console.log('')
  let nodeFailures = 0
  const fail = (text, onNode) => {
    failures.push(text)
    if (onNode) nodeFailures += 1
  }
  for (const { runtime, report, exitCode } of suites) {
    const label = `${report} on ${RUNTIME_NAMES[runtime]}`
    const path = join(resultsDir, runtime, `${report}.json`)
    const onNode = runtime === 'node'
    if (!existsSync(path)) {
      console.log(`  ${runtime.padEnd(5)} ${report.padEnd(24)} no report`)
      fail(`${label}: no report, the run crashed or never started (${exitText(exitCode)})`, onNode)
      failed += 1
      continue
    }
    const result = readJson(path)
    const skippedHere = result.numPendingTests + result.numTodoTests
    console.log(
      `  ${runtime.padEnd(5)} ${report.padEnd(24)} ${result.numPassedTests} passed, ${result.numFailedTests} failed, ${skippedHere} skipped`
    )
    passed += result.numPassedTests
    failed += result.numFailedTests
    skipped += skippedHere
    if (result.numFailedTests > 0) {
      fail(`${label}: ${result.numFailedTests} failed`, onNode)
    } else if (result.success === false) {
      fail(`${label}: a test file failed to load or run`, onNode)
      failed += 1
    } else if (exitCode !== 0 && exitCode !== undefined) {
      fail(`${label}: ${exitText(exitCode)} after its tests passed`, onNode)
      failed += 1
    }
  }
  for (const { title, exitCode, node, fallback } of steps) {
    if (exitCode === 0 || (fallback && nodeFailures > 0)) continue
    fail(`${title}: ${exitText(exitCode)}`, node)
    failed += 1
  }
  console.log('')
  if (failures.length > 0) {
    console.log(`failed (${failures.length}):`)
    for (const failure of failures) console.log(`  ${failure}`)
  }
  if (passed === 0) console.log('no test ran')
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`)
  process.exit(failures.length === 0 && passed > 0 ? 0 : 1)
}
