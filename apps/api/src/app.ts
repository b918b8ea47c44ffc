/**
 * `createApp(deps)`: the admin API as a Hono app, with no socket, so that tests drive it through
 * `app.request()` and the entry files of each runtime serve it.
 */
import {
  type DataplaneTokens,
  type Logger,
  type MeshcaCore,
  silentLogger,
  type UserTokens,
} from '@meshca/core-mtls'
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { AppEnv } from './context.ts'
import { ApiProblem } from './http/api-problem.ts'
import {
  authenticate,
  type RemoteAddress,
  remoteAddressFromEnv,
} from './middleware/authenticate.ts'
import { errorHandler, notFoundHandler } from './middleware/error-handler.ts'
import { meshRoutes } from './routes/meshes.ts'
import { overviewRoutes } from './routes/overviews.ts'
import { meshInsightRoutes, meshScopedRoutes } from './routes/resources.ts'
import type { RouteDeps } from './routes/route-deps.ts'
import { secretRoutes } from './routes/secrets.ts'
import { tokenRoutes } from './routes/tokens.ts'
import { KUMA_COMPATIBILITY, MESHCA_VERSION } from './version.ts'

/**
 * Largest request body, in bytes: 1 MiB, as the store's largest spec. A Mesh with an inline CA chain
 * is a few kilobytes; anything near this is a mistake or an attack.
 */
export const MAX_BODY_BYTES = 1024 * 1024

export interface AppDeps {
  readonly core: MeshcaCore
  readonly userTokens: UserTokens
  readonly dataplaneTokens: DataplaneTokens
  readonly logger?: Logger
  /** Requests from 127.0.0.1 or ::1 act as the admin (Kuma's `localhostIsAdmin`); default true. */
  readonly localhostIsAdmin?: boolean
  /** The peer address of a request; default `env.remoteAddress` (Bun entry, tests). */
  readonly remoteAddress?: RemoteAddress
  /** Default `MAX_BODY_BYTES`. */
  readonly maxBodyBytes?: number
}

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const logger = deps.logger ?? silentLogger
  const maxBodyBytes = deps.maxBodyBytes ?? MAX_BODY_BYTES
  const routeDeps: RouteDeps = {
    core: deps.core,
    userTokens: deps.userTokens,
    dataplaneTokens: deps.dataplaneTokens,
    logger,
  }
  const app = new Hono<AppEnv>()
  app.onError(errorHandler(logger))
  app.notFound(notFoundHandler)

  app.use(async (c, next) => {
    const started = performance.now()
    await next()
    logger.log('debug', 'request', {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round(performance.now() - started),
    })
  })
  app.use(
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: () => {
        throw new ApiProblem(413, `request body is larger than ${maxBodyBytes} bytes`)
      },
    })
  )
  app.use(
    authenticate({
      userTokens: deps.userTokens,
      localhostIsAdmin: deps.localhostIsAdmin ?? true,
      remoteAddress: deps.remoteAddress ?? remoteAddressFromEnv,
      logger,
    })
  )

  app.get('/', (c) =>
    c.json({ tagline: 'meshca', version: MESHCA_VERSION, basedOnKuma: KUMA_COMPATIBILITY })
  )
  app.route('/', overviewRoutes(routeDeps))
  app.route('/', meshRoutes(routeDeps))
  app.route('/', secretRoutes(routeDeps))
  app.route('/', meshScopedRoutes(routeDeps, 'Dataplane'))
  app.route('/', meshScopedRoutes(routeDeps, 'DataplaneInsight'))
  app.route('/', meshScopedRoutes(routeDeps, 'TrafficPermission'))
  app.route('/', meshInsightRoutes(routeDeps))
  app.route('/', tokenRoutes(routeDeps))
  return app
}
