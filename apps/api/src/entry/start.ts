/** Reading the configuration and starting the control plane, for both runtime entries. */
import { createConsoleLogger, isMeshcaError, type Logger } from '@meshca/core-mtls'
import { type ApiConfig, CONFIG_HELP, loadConfig, wantsHelp } from '../config.ts'

/** The configuration, or the process exits: 0 after `--help`, 2 on a configuration error. */
export function configOrExit(): { readonly config: ApiConfig; readonly logger: Logger } {
  const argv = process.argv.slice(2)
  if (wantsHelp(argv)) {
    process.stdout.write(CONFIG_HELP)
    process.exit(0)
  }
  try {
    const config = loadConfig(process.env, argv, process.cwd())
    return {
      config,
      logger: createConsoleLogger(config.logLevel, (line) => process.stdout.write(line)),
    }
  } catch (error) {
    process.stderr.write(`meshca: ${isMeshcaError(error) ? error.message : String(error)}\n`)
    process.exit(2)
  }
}

/** Logs why the process could not start (the error's message says what to do) and exits 1. */
export function failStart(
  logger: Logger,
  error: unknown,
  what = 'the control plane did not start'
): never {
  logger.log('error', what, {
    error: error instanceof Error ? error.message : String(error),
  })
  process.exit(1)
}
