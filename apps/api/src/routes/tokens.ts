/**
 * Tokens, admins only: `POST /tokens/dataplane` (Kuma's data plane tokens) and `POST /tokens/user`
 * (user tokens for this API) answer the JWT as `text/plain`; `POST /tokens/user/revocations`
 * revokes a user token (by the token or its id) on every instance, `GET` lists the revoked ids.
 */
import {
  MeshcaError,
  parseDataplaneTokenRequest,
  parseUserTokenRequest,
  parseUserTokenRevocation,
} from '@meshca/core-mtls'
import { Hono } from 'hono'
import type { AppEnv } from '../context.ts'
import { requireAdminTo, requireAdminToGenerate } from '../http/access.ts'
import { plainText } from '../http/plain-text.ts'
import { readBody } from '../http/read-body.ts'
import { TITLES } from '../http/titles.ts'
import type { RouteDeps } from './route-deps.ts'

export function tokenRoutes(deps: RouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>()

  app.post('/tokens/dataplane', async (c) => {
    c.set('errorTitle', TITLES.token)
    requireAdminToGenerate(c, 'dataplane tokens')
    const request = parseDataplaneTokenRequest(await readBody(c))
    // The signing key is a Secret of the mesh: no mesh, no key, no token (decision 15 of
    // docs/decisions.md of docs/decisions.md).
    if ((await deps.core.meshes.get(request.mesh)) === undefined) {
      throw new MeshcaError('MESH_NOT_FOUND', 'Mesh is not found', {
        violations: [{ field: 'mesh', message: `mesh of name ${request.mesh} is not found` }],
      })
    }
    const token = await deps.dataplaneTokens.issue(request)
    deps.logger.log('info', 'data plane token issued', {
      mesh: request.mesh,
      name: request.name,
      by: c.get('user').name,
    })
    return plainText(c, token)
  })

  app.post('/tokens/user', async (c) => {
    c.set('errorTitle', TITLES.token)
    requireAdminToGenerate(c, 'user tokens')
    const request = parseUserTokenRequest(await readBody(c))
    const token = await deps.userTokens.issue(request)
    deps.logger.log('info', 'user token issued', {
      user: request.name,
      groups: request.groups.join(','),
      by: c.get('user').name,
    })
    return plainText(c, token)
  })

  app.post('/tokens/user/revocations', async (c) => {
    c.set('errorTitle', TITLES.revoke)
    requireAdminTo(c, 'revoke user tokens')
    const id = parseUserTokenRevocation(await readBody(c))
    await deps.userTokens.revoke(id)
    deps.logger.log('info', 'user token revoked', { id, by: c.get('user').name })
    return c.json({ id })
  })

  app.get('/tokens/user/revocations', async (c) => {
    c.set('errorTitle', TITLES.list)
    requireAdminTo(c, 'list user token revocations')
    const ids = await deps.userTokens.revoked()
    return c.json({ total: ids.length, items: ids.map((id) => ({ id })) })
  })

  return app
}
