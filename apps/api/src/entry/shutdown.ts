/**
 * Signal handling shared by the runtime entries: the first SIGINT or SIGTERM stops accepting
 * requests, lets those in flight finish (for a while), closes the store, and exits; a second one exits
 * at once.
 */
import type { Logger } from '@meshca/core-mtls'

export interface Stoppable {
  /** Stop accepting connections; resolves when the in-flight requests are done. */
  stopServer(): Promise<void>
  closeControlPlane(): Promise<void>
}

/** How long in-flight requests may take once shutdown began. */
export const DRAIN_TIMEOUT_MS = 5000

export function handleShutdownSignals(target: Stoppable, logger: Logger): void {
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) {
      logger.log('warn', 'second signal: exiting now', { signal })
      process.exit(1)
    }
    stopping = true
    logger.log('info', 'shutting down', { signal })
    const drained = Promise.race([
      target.stopServer(),
      new Promise<void>((resolve) => setTimeout(resolve, DRAIN_TIMEOUT_MS).unref()),
    ])
    drained
      .then(() => target.closeControlPlane())
      .then(
        () => {
          logger.log('info', 'stopped')
          process.exit(0)
        },
        (error: unknown) => {
          logger.log('error', 'shutdown failed', { error: String(error) })
          process.exit(1)
        }
      )
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
}
