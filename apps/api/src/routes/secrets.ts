/**
 * Secrets: admin-only for every verb (docs/kuma-compatibility.md §9.4), encrypted at rest, written
 * only in an existing mesh and not deleted or changed under a CA that uses them (the
 * SecretManager's guard).
 */
import { Hono } from 'hono'
import type { AppEnv } from '../context.ts'
import { requireAdminFor } from '../http/access.ts'
import { listBody, listing, listResponse, pageRequest } from '../http/pagination.ts'
import { readBody } from '../http/read-body.ts'
import { notFound, resourceFromBody, secretJson } from '../http/resources.ts'
import { retryLostRaces } from '../http/retry.ts'
import { TITLES } from '../http/titles.ts'
import { isSystemMesh, SYSTEM_SECRETS_MESH } from '../system-secrets.ts'
import type { RouteDeps } from './route-deps.ts'

export function secretRoutes(deps: RouteDeps): Hono<AppEnv> {
  const { secrets } = deps.core
  const app = new Hono<AppEnv>()

  app.get('/secrets', async (c) => {
    c.set('errorTitle', TITLES.list)
    requireAdminFor(c, 'Secret')
    const page = pageRequest(c)
    const nameContains = c.req.query('name')
    const result = await listing(() =>
      secrets.list({ ...page, ...(nameContains ? { nameContains } : {}) })
    )
    // The control plane's own Secrets are not the user's: out of the page and out of the count.
    const system = await secrets.list({
      mesh: SYSTEM_SECRETS_MESH,
      size: 1,
      ...(nameContains ? { nameContains } : {}),
    })
    const items = result.items.filter((s) => !isSystemMesh(s.mesh)).map(secretJson)
    return c.json(listBody(c, { ...result, items, total: result.total - system.total }, page.size))
  })

  app.get('/meshes/:mesh/secrets', (c) => {
    requireAdminFor(c, 'Secret')
    const mesh = c.req.param('mesh')
    return listResponse(
      c,
      async (options) =>
        isSystemMesh(mesh) ? { items: [], total: 0 } : secrets.list({ ...options, mesh }),
      secretJson
    )
  })

  app.get('/meshes/:mesh/secrets/:name', async (c) => {
    c.set('errorTitle', TITLES.get)
    requireAdminFor(c, 'Secret')
    const { mesh, name } = c.req.param()
    const secret = isSystemMesh(mesh) ? undefined : await secrets.get(mesh, name)
    if (secret === undefined) throw notFound('Secret', name, mesh)
    return c.json(secretJson(secret))
  })

  app.put('/meshes/:mesh/secrets/:name', async (c) => {
    c.set('errorTitle', TITLES.process)
    requireAdminFor(c, 'Secret')
    const { mesh, name } = c.req.param()
    const secret = resourceFromBody(await readBody(c), { type: 'Secret', mesh, name })
    const status = await retryLostRaces(async () => {
      const stored = await secrets.get(mesh, name)
      if (stored === undefined) {
        c.set('errorTitle', TITLES.create)
        await secrets.create(mesh, name, secret.spec.data)
        return 201 as const
      }
      c.set('errorTitle', TITLES.update)
      await secrets.update(mesh, name, secret.spec.data, stored.version)
      return 200 as const
    })
    return c.body(null, status)
  })

  app.delete('/meshes/:mesh/secrets/:name', async (c) => {
    c.set('errorTitle', TITLES.delete)
    requireAdminFor(c, 'Secret')
    const { mesh, name } = c.req.param()
    if (isSystemMesh(mesh)) throw notFound('Secret', name, mesh)
    await secrets.delete(mesh, name)
    return c.body(null, 200)
  })

  return app
}
