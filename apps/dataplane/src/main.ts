#!/usr/bin/env node
/** `meshca-dp run …`: starts the agent; SIGTERM or SIGINT drains it and exits 0. */
import { readFile } from 'node:fs/promises'
import { createConsoleLogger, isMeshcaError } from '@meshca/core-mtls'
import { DataplaneAgent } from './agent.ts'
import { readDataplaneFile } from './dataplane-file.ts'
import { parseRunOptions, RUN_HELP, type RunOptions } from './run-options.ts'

const USAGE = `meshca-dp: the meshca data plane agent\n\nCommands:\n  run    run the agent (meshca-dp run --help)\n`

function fail(message: string, code: number): never {
  process.stderr.write(`meshca-dp: ${message}\n`)
  process.exit(code)
}

function describe(error: unknown): string {
  if (isMeshcaError(error) && error.violations.length > 0) {
    return `${error.message}\n${error.violations.map((v) => `  * ${v.field}: ${v.message}`).join('\n')}`
  }
  return error instanceof Error ? error.message : String(error)
}

async function token(options: RunOptions): Promise<string> {
  if ('value' in options.token) return options.token.value.trim()
  return (await readFile(options.token.file, 'utf8')).trim()
}

async function run(argv: readonly string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(RUN_HELP)
    return
  }
  let options: RunOptions
  try {
    options = parseRunOptions(argv)
  } catch (error) {
    fail(describe(error), 2)
  }
  const logger = createConsoleLogger(options.logLevel, (line) => process.stdout.write(line))
  let agent: DataplaneAgent
  try {
    const dataplane = await readDataplaneFile(options.dataplaneFile, options.dataplaneVars, {
      ...(options.name === undefined ? {} : { name: options.name }),
      ...(options.mesh === undefined ? {} : { mesh: options.mesh }),
    })
    agent = new DataplaneAgent({
      cpAddress: options.cpAddress,
      token: await token(options),
      dataplane,
      ...(options.adminPort === undefined ? {} : { adminPort: options.adminPort }),
      adminAddress: options.adminAddress,
      drainTimeMs: options.drainTimeMs,
      logger,
    })
  } catch (error) {
    fail(describe(error), 2)
  }
  let stopping = false
  const stop = () => {
    if (stopping) return
    stopping = true
    agent.stop().then(
      () => process.exit(0),
      (error: unknown) => fail(describe(error), 1)
    )
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  try {
    await agent.start()
  } catch (error) {
    fail(describe(error), 1)
  }
}

const [command, ...rest] = process.argv.slice(2)
if (command === 'run') await run(rest)
else if (command === undefined || command === '--help' || command === '-h')
  process.stdout.write(USAGE)
else fail(`unknown command ${JSON.stringify(command)}\n${USAGE}`, 2)
