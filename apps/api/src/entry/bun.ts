/**
 * @module
 * The control plane on Bun: `bun --conditions=@meshca/source src/entry/bun.ts [flags]`.
 */
import { startControlPlane } from '../control-plane.ts'
import { handleShutdownSignals } from './shutdown.ts'
import { configOrExit, failStart } from './start.ts'

/** The part of Bun's server API used here; Bun's own types are not a dependency of this package. */
interface BunServer {
  readonly port: number
  readonly hostname: string
  requestIP(request: Request): { readonly address: string } | null
  stop(closeActiveConnections?: boolean): Promise<void> | void
}

interface BunRuntime {
  serve(options: {
    readonly hostname: string
    readonly port: number
    readonly fetch: (request: Request, server: BunServer) => Response | Promise<Response>
  }): BunServer
}

const bun = (globalThis as { readonly Bun?: BunRuntime }).Bun
if (bun === undefined) {
  process.stderr.write('meshca: src/entry/bun.ts runs on Bun; on Node use dist/entry/node.js\n')
  process.exit(2)
}

const { config, logger } = configOrExit()
try {
  const controlPlane = await startControlPlane(config, { logger })
  const server = bun.serve({
    hostname: config.host,
    port: config.port,
    fetch: (request, bunServer) =>
      controlPlane.app.fetch(request, {
        remoteAddress: bunServer.requestIP(request)?.address,
      }),
  })
  const host = server.hostname.includes(':') ? `[${server.hostname}]` : server.hostname
  logger.log('info', `meshca API listening on http://${host}:${server.port}`, {
    adminToken: controlPlane.adminTokenPath,
  })
  const metricsServer =
    config.metricsPort === undefined
      ? undefined
      : bun.serve({
          hostname: config.host,
          port: config.metricsPort,
          fetch: (request) => controlPlane.metricsApp.fetch(request),
        })
  if (metricsServer !== undefined) {
    logger.log('info', `meshca metrics listening on http://${host}:${metricsServer.port}/metrics`)
  }
  handleShutdownSignals(
    {
      stopServer: async () => {
        // Data plane streams never finish on their own: end them (they reconnect elsewhere).
        await controlPlane.endDataplaneStreams()
        await Promise.all([server.stop(), metricsServer?.stop()])
      },
      closeControlPlane: () => controlPlane.close(),
    },
    logger
  )
} catch (error) {
  failStart(logger, error)
}
