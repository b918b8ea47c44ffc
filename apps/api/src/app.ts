/**
 * `createApp(deps)`: the admin API as a Hono app, with no socket, so that tests drive it through
 * `app.request()` and the entry files of each runtime serve it.
 */
import {
  type DataplaneTokens,
  type Logger,
  type MeshcaCore,
  type Store,
  silentLogger,
  type UserTokens,
} from '@meshca/core-mtls'
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { AppEnv } from './context.ts'
import { createDataplaneSessions, type DataplaneSessions } from './dataplanes/dataplane-sessions.ts'
import { ApiProblem } from './http/api-problem.ts'
import {
  authenticate,
  type RemoteAddress,
  remoteAddressFromEnv,
} from './middleware/authenticate.ts'
import { errorHandler, notFoundHandler } from './middleware/error-handler.ts'
import { dataplaneConfigRoutes } from './routes/dataplane-config.ts'
import { dataplaneIdentityRoutes } from './routes/dataplane-identity.ts'
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

/** Methods whose body a route reads; only these pass through the body limit. */
const BODY_METHODS = ['POST', 'PUT', 'PATCH']

export interface AppDeps {
  readonly core: MeshcaCore
  readonly userTokens: UserTokens
  readonly dataplaneTokens: DataplaneTokens
  readonly logger?: Logger
  /** A debug line per request (method, path, status, time); default off. */
  readonly logRequests?: boolean
  /** Requests from 127.0.0.1 or ::1 act as the admin (Kuma's `localhostIsAdmin`); default true. */
  readonly localhostIsAdmin?: boolean
  /** The peer address of a request; default `env.remoteAddress` (Bun entry, tests). */
  readonly remoteAddress?: RemoteAddress
  /** Default `MAX_BODY_BYTES`. */
  readonly maxBodyBytes?: number
  /**
   * The data plane streams of this app; default: created here from the options below. Pass them to
   * end the streams on shutdown (`startControlPlane` does).
   */
  readonly dataplaneSessions?: DataplaneSessions
  /**
   * Store change events: a Mesh or CA Secret change re-issues the identities of the data planes
   * streaming from this app. Without it, only rotation and new connections issue.
   */
  readonly store?: Pick<Store, 'watch'>
  /** `controlPlaneInstanceId` in data plane insights; default a random UUID. */
  readonly instanceId?: string
  /** SSE comment lines on idle data plane streams; default 15 s, 0 for none. */
  readonly heartbeatIntervalMs?: number
  /** A mesh change re-issues its data planes' identities spread over this window; default 5 s. */
  readonly reissueWindowMs?: number
  /** A data plane whose stream ended stays in others' endpoints this long; default 15 s. */
  readonly offlineGraceMs?: number
}

/** The data plane sessions `createApp` makes when it is not given any. */
export function dataplaneSessionsFor(deps: AppDeps): DataplaneSessions {
  if (deps.dataplaneSessions !== undefined) return deps.dataplaneSessions
  const store = deps.store
  return createDataplaneSessions({
    core: deps.core,
    logger: deps.logger ?? silentLogger,
    instanceId: deps.instanceId ?? globalThis.crypto.randomUUID(),
    ...(store === undefined
      ? {}
      : { watch: (listener, options) => store.watch(listener, options) }),
    ...(deps.heartbeatIntervalMs === undefined
      ? {}
      : { heartbeatIntervalMs: deps.heartbeatIntervalMs }),
    ...(deps.reissueWindowMs === undefined ? {} : { reissueWindowMs: deps.reissueWindowMs }),
    ...(deps.offlineGraceMs === undefined ? {} : { offlineGraceMs: deps.offlineGraceMs }),
  })
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

  // Every middleware layer costs a resource read about 5% of its throughput: the ones a request does
  // not need are not registered for it.
  if (deps.logRequests === true) {
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
  }
  // Only routes that read a body need its limit: touching the body of a GET makes the Node adapter
  // build a full Request, which costs a third of a resource read's time.
  app.on(
    BODY_METHODS,
    '*',
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: () => {
        // The rest of the body is left unread: the connection cannot carry another request.
        throw new ApiProblem(413, `request body is larger than ${maxBodyBytes} bytes`, {
          headers: { connection: 'close' },
        })
      },
    })
  )
  // The data plane API authenticates with data plane tokens, not user tokens: it comes before the
  // user authentication, which would refuse its bearer token.
  const dataplaneDeps = { ...routeDeps, sessions: dataplaneSessionsFor(deps) }
  app.route('/', dataplaneIdentityRoutes(dataplaneDeps))
  app.route('/', dataplaneConfigRoutes(dataplaneDeps))
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
