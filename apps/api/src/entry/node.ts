/**
 * @module
 * The control plane on Node: `node dist/entry/node.js [flags]` (what `npm start` runs).
 */
import type { AddressInfo } from 'node:net'
import { createAdaptorServer, type HttpBindings } from '@hono/node-server'
import { startControlPlane } from '../control-plane.ts'
import type { RemoteAddress } from '../middleware/authenticate.ts'
import { serveMetrics } from './node-metrics.ts'
import { handleShutdownSignals } from './shutdown.ts'
import { configOrExit, failStart } from './start.ts'

const nodeRemoteAddress: RemoteAddress = (env) =>
  (env as HttpBindings | undefined)?.incoming?.socket.remoteAddress

const LISTEN_BACKLOG = 4096

const { config, logger } = configOrExit()
try {
  const controlPlane = await startControlPlane(config, { logger, remoteAddress: nodeRemoteAddress })
  const server = createAdaptorServer({ fetch: controlPlane.app.fetch })
  // Node's default backlog (511) overflows when thousands of data planes reconnect at once after a
  // restart: the kernel drops their SYNs and they wait for retransmits. The kernel caps it anyway.
  server.listen({ host: config.host, port: config.port, backlog: LISTEN_BACKLOG })
  const metricsServer = serveMetrics(
    controlPlane.metricsApp,
    config.host,
    config.metricsPort,
    logger
  )
  server.on('listening', () => {
    const { address, port } = server.address() as AddressInfo
    const host = address.includes(':') ? `[${address}]` : address
    logger.log('info', `meshca API listening on http://${host}:${port}`, {
      adminToken: controlPlane.adminTokenPath,
    })
  })
  server.on('error', (error) => {
    logger.log('error', 'the API server failed', { error: error.message })
    void controlPlane.close().finally(() => process.exit(1))
  })
  handleShutdownSignals(
    {
      stopServer: async () => {
        // Data plane streams never finish on their own: end them (they reconnect elsewhere).
        await controlPlane.endDataplaneStreams()
        await Promise.all([
          metricsServer.close(),
          new Promise<void>((resolve) => {
            server.close(() => resolve())
            // Keep-alive connections would hold `close` open until they time out.
            if ('closeIdleConnections' in server) server.closeIdleConnections()
          }),
        ])
      },
      closeControlPlane: () => controlPlane.close(),
    },
    logger
  )
} catch (error) {
  failStart(logger, error)
}
