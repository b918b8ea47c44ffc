/**
 * The generic resource routes of Kuma's API server for the types without special handling:
 * mesh-scoped ones (`/meshes/{mesh}/<path>[/{name}]` and the cross-mesh `/<path>`) and MeshInsight
 * (`/mesh-insights[/{name}]`). Read-only types answer PUT and DELETE with a plain-text 405.
 */
import type { PlainResourceType } from '@meshca/core-mtls'
import { RESOURCE_TYPES } from '@meshca/core-mtls'
import { type Context, Hono } from 'hono'
import type { AppEnv } from '../context.ts'
import { requireAuthenticatedWriter } from '../http/access.ts'
import { listResponse } from '../http/pagination.ts'
import { plainText } from '../http/plain-text.ts'
import { readBody } from '../http/read-body.ts'
import {
  notFound,
  resourceFromBody,
  resourceJson,
  resourceResponse,
  withVersionOf,
} from '../http/resources.ts'
import { retryLostRaces } from '../http/retry.ts'
import { TITLES } from '../http/titles.ts'
import type { RouteDeps } from './route-deps.ts'

/** Kuma answers writes to read-only types in plain text, which `kumactl` prints as it is. */
export function readOnlyMessage(type: string): string {
  return `${type} is a read-only resource: the control plane maintains it. You can still read it with 'meshca get' or the HTTP API.`
}

function readOnly(type: string) {
  return (c: Context<AppEnv>) => plainText(c, readOnlyMessage(type), 405)
}

export function meshScopedRoutes(
  deps: RouteDeps,
  type: Exclude<PlainResourceType, 'Mesh' | 'MeshInsight'>
): Hono<AppEnv> {
  const { resources } = deps.core
  const path = RESOURCE_TYPES[type].path
  const app = new Hono<AppEnv>()

  app.get(`/${path}`, (c) =>
    listResponse(c, (options) => resources.list(type, options), resourceJson)
  )
  app.get(`/meshes/:mesh/${path}`, (c) =>
    listResponse(
      c,
      (options) => resources.list(type, { ...options, mesh: c.req.param('mesh') }),
      resourceJson
    )
  )

  app.get(`/meshes/:mesh/${path}/:name`, async (c) => {
    c.set('errorTitle', TITLES.get)
    const { mesh, name } = c.req.param()
    const resource = await resources.get(type, mesh, name)
    if (resource === undefined) throw notFound(type, name, mesh)
    return resourceResponse(c, resource)
  })

  if (RESOURCE_TYPES[type].readOnly) {
    app.on(['PUT', 'DELETE'], `/meshes/:mesh/${path}/:name`, readOnly(type))
    return app
  }

  app.put(`/meshes/:mesh/${path}/:name`, async (c) => {
    c.set('errorTitle', TITLES.process)
    requireAuthenticatedWriter(c, type)
    const { mesh, name } = c.req.param()
    const sent = resourceFromBody(await readBody(c), { type, mesh, name })
    const status = await retryLostRaces(async () => {
      const stored = await resources.get(type, mesh, name)
      if (stored === undefined) {
        c.set('errorTitle', TITLES.create)
        await resources.create(sent)
        return 201 as const
      }
      c.set('errorTitle', TITLES.update)
      await resources.update(withVersionOf(sent, stored))
      return 200 as const
    })
    return c.body(null, status)
  })

  app.delete(`/meshes/:mesh/${path}/:name`, async (c) => {
    c.set('errorTitle', TITLES.delete)
    requireAuthenticatedWriter(c, type)
    const { mesh, name } = c.req.param()
    await resources.delete(type, mesh, name)
    return c.body(null, 200)
  })

  return app
}

/** MeshInsight: global and read-only. */
export function meshInsightRoutes(deps: RouteDeps): Hono<AppEnv> {
  const { resources } = deps.core
  const path = RESOURCE_TYPES.MeshInsight.path
  const app = new Hono<AppEnv>()

  app.get(`/${path}`, (c) =>
    listResponse(c, (options) => resources.list('MeshInsight', options), resourceJson)
  )

  app.get(`/${path}/:name`, async (c) => {
    c.set('errorTitle', TITLES.get)
    const name = c.req.param('name')
    const insight = await resources.get('MeshInsight', '', name)
    if (insight === undefined) throw notFound('MeshInsight', name)
    return resourceResponse(c, insight)
  })

  app.on(['PUT', 'DELETE'], `/${path}/:name`, readOnly('MeshInsight'))
  return app
}
