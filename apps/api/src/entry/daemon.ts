/**
 * @module
 * The rotation daemon on its own (`npm run daemon`): no API, only the daemon and its metrics port,
 * against the store the flags name: the PostgreSQL that API instances share. Several may run; one
 * leads. Takes the API's flags (`--help`). A PGlite directory belongs to one process, and `npm start`
 * runs the daemon already: started beside it, this one exits 1 naming the process that holds it.
 */
import { startControlPlane } from '../control-plane.ts'
import { serveMetrics } from './node-metrics.ts'
import { handleShutdownSignals } from './shutdown.ts'
import { configOrExit, failStart } from './start.ts'

const { config, logger } = configOrExit()
try {
  // The daemon issues no data plane certificates: no signer threads, no key pool.
  const controlPlane = await startControlPlane(
    { ...config, daemon: true, signer: 'inline' },
    { logger }
  )
  const metricsServer = serveMetrics(
    controlPlane.metricsApp,
    config.host,
    config.metricsPort,
    logger
  )
  logger.log('info', 'meshca rotation daemon started', {
    store: config.store,
    intervalMs: config.daemonIntervalMs,
  })
  handleShutdownSignals(
    { stopServer: () => metricsServer.close(), closeControlPlane: () => controlPlane.close() },
    logger
  )
} catch (error) {
  failStart(logger, error, 'the rotation daemon did not start')
}
