/**
 * The data plane configuration API: what a data plane proxy needs to serve besides its identity
 * (the mesh's mTLS state, each inbound's RBAC policy, each outbound's endpoints), once with
 * `GET …/config` or as a stream of Server-Sent Events that pushes every change
 * (`GET …/config/stream`). Same authentication as the identity API: the data plane's own token.
 * Documented in docs/api.md ("Data plane configuration").
 */
import { Hono } from 'hono'
import type { AppEnv } from '../context.ts'
import {
  checkTokenAllows,
  checkTokenName,
  notRegistered,
  verifyDataplaneToken,
} from '../dataplanes/dataplane-auth.ts'
import { eventStreamResponse } from '../http/event-stream.ts'
import { TITLES } from '../http/titles.ts'
import type { DataplaneRouteDeps } from './dataplane-identity.ts'

/** Checks the token against the stored Dataplane: only a data plane's own token reads its config. */
async function authorize(
  deps: DataplaneRouteDeps,
  authorization: string | undefined,
  mesh: string,
  name: string
) {
  const claims = await verifyDataplaneToken(authorization, mesh, deps)
  checkTokenName(claims, mesh, name)
  const stored = await deps.core.resources.get('Dataplane', mesh, name)
  if (stored === undefined) throw notRegistered(mesh, name)
  checkTokenAllows(claims, mesh, name, stored.spec)
}

export function dataplaneConfigRoutes(deps: DataplaneRouteDeps): Hono<AppEnv> {
  const configs = deps.sessions.configs
  const app = new Hono<AppEnv>()

  app.get('/meshes/:mesh/dataplanes/:name/config', async (c) => {
    c.set('errorTitle', TITLES.config)
    const { mesh, name } = c.req.param()
    await authorize(deps, c.req.header('authorization'), mesh, name)
    return c.json(await configs.current(mesh, name))
  })

  app.get('/meshes/:mesh/dataplanes/:name/config/stream', async (c) => {
    c.set('errorTitle', TITLES.config)
    const { mesh, name } = c.req.param()
    await authorize(deps, c.req.header('authorization'), mesh, name)
    // Subscribed before the response starts: a data plane that cannot be served gets a status.
    const subscription = await configs.subscribe(mesh, name)
    return eventStreamResponse(c, {
      attach: (sink) => subscription.attach(sink),
      ended: subscription.ended,
      disconnected: () => subscription.stop(),
    })
  })

  return app
}
