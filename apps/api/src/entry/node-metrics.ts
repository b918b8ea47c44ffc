/** The metrics port on Node, for the control plane and the standalone daemon. */
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import type { Logger } from '@meshca/core-mtls'
import type { Hono } from 'hono'

export interface MetricsServer {
  close(): Promise<void>
}

/** Serves `app` on `port` (0: a free one), logging the URL once listening; `undefined` port: nothing. */
export function serveMetrics(
  app: Hono,
  host: string,
  port: number | undefined,
  logger: Logger
): MetricsServer {
  if (port === undefined) return { close: async () => {} }
  const server = serve({ fetch: app.fetch, hostname: host, port })
  server.on('listening', () => {
    const { address, port: bound } = server.address() as AddressInfo
    const shown = address.includes(':') ? `[${address}]` : address
    logger.log('info', `meshca metrics listening on http://${shown}:${bound}/metrics`)
  })
  server.on('error', (error) => {
    // Metrics are not worth the control plane: a taken port is reported, serving goes on.
    logger.log('error', 'the metrics server failed', { error: error.message, port })
  })
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        if ('closeIdleConnections' in server) server.closeIdleConnections()
      }),
  }
}
