/**
 * `dataplanes+insights`: each Dataplane with its DataplaneInsight, as Kuma's `DataplaneOverview`.
 * Filters (`tag=key:value` repeatable, `gateway`, `name`) apply before pagination, so the page and
 * `total` count the same set. Kuma overwrites `total` with the page length; meshca does not.
 */
import {
  type DataplaneSpec,
  type JsonObject,
  type Resource,
  specToJson,
  validationError,
} from '@meshca/core-mtls'
import { type Context, Hono } from 'hono'
import type { AppEnv } from '../context.ts'
import { listBody, pageInMemory, pageRequest } from '../http/pagination.ts'
import { notFound } from '../http/resources.ts'
import { TITLES } from '../http/titles.ts'
import type { RouteDeps } from './route-deps.ts'

type GatewayFilter = 'true' | 'false' | 'builtin' | 'delegated'

interface OverviewFilter {
  readonly tags: readonly (readonly [string, string])[]
  readonly gateway?: GatewayFilter
  readonly name?: string
}

function overviewFilter(c: Context<AppEnv>): OverviewFilter {
  const tags = (c.req.queries('tag') ?? []).map((tag): readonly [string, string] => {
    const colon = tag.indexOf(':')
    return colon < 0 ? [tag, ''] : [tag.slice(0, colon), tag.slice(colon + 1)]
  })
  const gateway = c.req.query('gateway')
  if (gateway !== undefined && !['true', 'false', 'builtin', 'delegated'].includes(gateway)) {
    throw validationError([
      {
        field: 'gateway',
        // Kuma's text, typo included, so that clients matching it keep working.
        message: `shoud use \`true\`, \`false\`, 'builtin' or 'delegated' instead of ${gateway}`,
      },
    ])
  }
  const name = c.req.query('name')
  return {
    tags,
    ...(gateway === undefined ? {} : { gateway: gateway as GatewayFilter }),
    ...(name ? { name } : {}),
  }
}

/** Kuma's fuzzy tag match: some inbound (or the gateway) has the key with a value containing `value`. */
function matches(spec: DataplaneSpec, name: string, filter: OverviewFilter): boolean {
  if (filter.name !== undefined && !name.includes(filter.name)) return false
  const gateway = spec.networking.gateway
  switch (filter.gateway) {
    case 'true':
      if (!gateway) return false
      break
    case 'false':
      if (gateway) return false
      break
    case 'builtin':
      if (gateway?.type !== 'BUILTIN') return false
      break
    case 'delegated':
      if (!gateway || gateway.type === 'BUILTIN') return false
      break
  }
  const tagSets = [
    ...spec.networking.inbound.map((i) => i.tags),
    ...(gateway ? [gateway.tags] : []),
  ]
  return filter.tags.every(([key, value]) =>
    tagSets.some((tags) => tags[key]?.includes(value) ?? false)
  )
}

function overviewJson(
  dataplane: Resource<'Dataplane'>,
  insight: Resource<'DataplaneInsight'> | undefined
): JsonObject {
  const meta = dataplane.meta
  return {
    type: 'DataplaneOverview',
    mesh: dataplane.mesh,
    name: dataplane.name,
    ...(meta === undefined
      ? {}
      : {
          creationTime: meta.creationTime.toISOString(),
          modificationTime: meta.modificationTime.toISOString(),
        }),
    dataplane: specToJson('Dataplane', dataplane.spec),
    dataplaneInsight: insight === undefined ? {} : specToJson('DataplaneInsight', insight.spec),
  }
}

export function overviewRoutes(deps: RouteDeps): Hono<AppEnv> {
  const { resources } = deps.core
  const app = new Hono<AppEnv>()

  async function overviews(c: Context<AppEnv>, mesh: string | undefined) {
    c.set('errorTitle', TITLES.list)
    const page = pageRequest(c)
    const filter = overviewFilter(c)
    const [dataplanes, insights] = await Promise.all([
      resources.listAll('Dataplane', mesh),
      resources.listAll('DataplaneInsight', mesh),
    ])
    const insightByKey = new Map(insights.map((i) => [`${i.mesh}/${i.name}`, i]))
    const selected = dataplanes.filter((dp) => matches(dp.spec, dp.name, filter))
    const result = pageInMemory(selected, page)
    const items = result.items.map((dp) =>
      overviewJson(dp, insightByKey.get(`${dp.mesh}/${dp.name}`))
    )
    return c.json(listBody(c, { ...result, items }, page.size))
  }

  app.get('/dataplanes+insights', (c) => overviews(c, undefined))
  app.get('/meshes/:mesh/dataplanes+insights', (c) => overviews(c, c.req.param('mesh')))

  app.get('/meshes/:mesh/dataplanes+insights/:name', async (c) => {
    c.set('errorTitle', TITLES.get)
    const { mesh, name } = c.req.param()
    const [dataplane, insight] = await Promise.all([
      resources.get('Dataplane', mesh, name),
      resources.get('DataplaneInsight', mesh, name),
    ])
    if (dataplane === undefined) throw notFound('DataplaneOverview', name, mesh)
    return c.json(overviewJson(dataplane, insight))
  })

  return app
}
