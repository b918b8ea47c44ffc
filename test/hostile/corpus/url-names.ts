/**
 * Hostile names in URLs (and the same names in bodies): every route with a name segment, in every
 * position, with NUL, Unicode, traversal, malformed escapes, CR/LF and lengths past the limits. A
 * write with such a name must be refused: no resource may ever carry it.
 */
import { DATAPLANE, dataplaneBody, MESH } from '../hostile-world.ts'
import { decodedName, HOSTILE_URL_NAMES } from './hostile-values.ts'
import { type CorpusContext, type Probe, type Who, withCredentials } from './probe.ts'

interface NamedRoute {
  readonly method: string
  path(name: string): string
  readonly who: Who
  /** A body naming the resource as the URL does. */
  body?(name: string): Record<string, unknown>
  /** Writes with an invalid name must be refused. */
  readonly refused?: boolean
}

const NAMED_ROUTES: readonly NamedRoute[] = [
  { method: 'GET', path: (n) => `/meshes/${n}`, who: 'user' },
  {
    method: 'PUT',
    path: (n) => `/meshes/${n}`,
    who: 'user',
    body: (n) => ({ type: 'Mesh', name: n }),
    refused: true,
  },
  { method: 'DELETE', path: (n) => `/meshes/${n}`, who: 'admin' },
  { method: 'PATCH', path: (n) => `/meshes/${n}`, who: 'admin' },
  { method: 'OPTIONS', path: (n) => `/meshes/${n}`, who: 'anonymous' },
  { method: 'TRACE', path: (n) => `/meshes/${n}`, who: 'anonymous' },
  { method: 'GET', path: (n) => `/meshes/${n}/dataplanes`, who: 'anonymous' },
  { method: 'GET', path: (n) => `/meshes/${n}/dataplanes/${DATAPLANE}`, who: 'user' },
  {
    method: 'PUT',
    path: (n) => `/meshes/${n}/dataplanes/dp-x`,
    who: 'user',
    body: (n) => dataplaneBody(n, 'dp-x', 'svc'),
    refused: true,
  },
  { method: 'GET', path: (n) => `/meshes/${MESH}/dataplanes/${n}`, who: 'anonymous' },
  {
    method: 'PUT',
    path: (n) => `/meshes/${MESH}/dataplanes/${n}`,
    who: 'user',
    body: (n) => dataplaneBody(MESH, n, 'svc'),
    refused: true,
  },
  { method: 'DELETE', path: (n) => `/meshes/${MESH}/dataplanes/${n}`, who: 'admin' },
  { method: 'GET', path: (n) => `/meshes/${n}/secrets`, who: 'admin' },
  { method: 'GET', path: (n) => `/meshes/${MESH}/secrets/${n}`, who: 'admin' },
  {
    method: 'PUT',
    path: (n) => `/meshes/${MESH}/secrets/${n}`,
    who: 'admin',
    body: (n) => ({ type: 'Secret', mesh: MESH, name: n, data: 'aGVsbG8=' }),
    refused: true,
  },
  { method: 'DELETE', path: (n) => `/meshes/${MESH}/secrets/${n}`, who: 'admin' },
  { method: 'GET', path: (n) => `/meshes/${MESH}/traffic-permissions/${n}`, who: 'user' },
  {
    method: 'PUT',
    path: (n) => `/meshes/${MESH}/traffic-permissions/${n}`,
    who: 'admin',
    body: (n) => ({
      type: 'TrafficPermission',
      mesh: MESH,
      name: n,
      sources: [{ match: { 'kuma.io/service': '*' } }],
      destinations: [{ match: { 'kuma.io/service': '*' } }],
    }),
    refused: true,
  },
  { method: 'GET', path: (n) => `/meshes/${MESH}/dataplane-insights/${n}`, who: 'user' },
  { method: 'PUT', path: (n) => `/meshes/${MESH}/dataplane-insights/${n}`, who: 'admin' },
  { method: 'GET', path: (n) => `/mesh-insights/${n}`, who: 'anonymous' },
  { method: 'DELETE', path: (n) => `/mesh-insights/${n}`, who: 'admin' },
  { method: 'GET', path: (n) => `/meshes/${n}/dataplanes+insights`, who: 'user' },
  { method: 'GET', path: (n) => `/meshes/${MESH}/dataplanes+insights/${n}`, who: 'user' },
  { method: 'POST', path: (n) => `/meshes/${n}/dataplanes/${DATAPLANE}/identity`, who: 'dpOwn' },
  { method: 'POST', path: (n) => `/meshes/${MESH}/dataplanes/${n}/identity`, who: 'dpOwn' },
  { method: 'GET', path: (n) => `/meshes/${MESH}/dataplanes/${n}/identity/stream`, who: 'dpOwn' },
]

export function urlNameProbes(context: CorpusContext): Probe[] {
  const combinations = NAMED_ROUTES.flatMap((route) =>
    HOSTILE_URL_NAMES.map((name) => ({ route, name }))
  )
  // Every name and every route appears; which pairs is drawn from the seed.
  const chosen = new Set([
    ...HOSTILE_URL_NAMES.map((name) => ({ route: context.random.pick(NAMED_ROUTES), name })),
    ...NAMED_ROUTES.map((route) => ({ route, name: context.random.pick(HOSTILE_URL_NAMES) })),
    ...context.random.sample(combinations, 150),
  ])
  return [...chosen].map(({ route, name }) => {
    const body = route.body?.(decodedName(name))
    return {
      family: 'names in URLs',
      label: `${route.method} ${route.path(name).slice(0, 120)} as ${route.who}`,
      who: route.who,
      request: {
        method: route.method,
        target: route.path(name),
        headers: withCredentials(
          context.tokens,
          route.who,
          body === undefined ? {} : { 'content-type': 'application/json' }
        ),
        ...(body === undefined
          ? {}
          : { body: { kind: 'bytes' as const, data: Buffer.from(JSON.stringify(body)) } }),
      },
      expect: { refused: route.refused === true },
    }
  })
}
