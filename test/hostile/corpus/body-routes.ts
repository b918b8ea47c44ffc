/**
 * Every route that reads a body, with a valid body for it (what mutators start from) and the
 * credentials that may send it, so that a mutated payload is judged on its content, not refused for
 * who sent it. A route added to the API with a body is one entry here.
 */
import {
  builtinMesh,
  dataplaneBody,
  MESH,
  SELF_REGISTERING,
  type Tokens,
} from '../hostile-world.ts'
import type { CorpusContext, Expectation, Who } from './probe.ts'

export interface BodyRoute {
  readonly kind: string
  readonly method: 'PUT' | 'POST'
  /** The path for a target name (resources) or the fixed path (tokens, identity). */
  path(name: string): string
  /** A body the route accepts for that name. */
  base(name: string, context: CorpusContext): Record<string, unknown>
  /** Credentials that may use the route; the corpus sends most probes with one of these. */
  readonly who: readonly (keyof Tokens)[]
  /** Takes YAML besides JSON. */
  readonly yaml: boolean
  /** What an anonymous caller gets, whatever the body (authorization comes before parsing). */
  readonly anonymousStatus: number
  /** Each probe writes a resource of its own name (else the route's target is fixed). */
  readonly freshNames: boolean
}

export const BODY_ROUTES: readonly BodyRoute[] = [
  {
    kind: 'Mesh with mTLS',
    method: 'PUT',
    path: (name) => `/meshes/${name}`,
    base: (name) => ({
      ...builtinMesh(name),
      logging: {
        defaultBackend: 'file',
        backends: [{ name: 'file', type: 'file', conf: { path: '/tmp/access.log' } }],
      },
    }),
    who: ['admin'],
    yaml: true,
    anonymousStatus: 403,
    freshNames: true,
  },
  {
    kind: 'Mesh without mTLS',
    method: 'PUT',
    path: (name) => `/meshes/${name}`,
    base: (name) => ({
      type: 'Mesh',
      name,
      routing: { zoneEgress: false },
      metrics: {
        enabledBackend: 'prom',
        backends: [{ name: 'prom', type: 'prometheus', conf: { port: 5670, path: '/metrics' } }],
      },
    }),
    who: ['admin', 'user'],
    yaml: true,
    anonymousStatus: 403,
    freshNames: true,
  },
  {
    kind: 'Secret',
    method: 'PUT',
    path: (name) => `/meshes/${MESH}/secrets/${name}`,
    base: (name) => ({ type: 'Secret', mesh: MESH, name, data: 'aGVsbG8=' }),
    who: ['admin'],
    yaml: true,
    anonymousStatus: 403,
    freshNames: true,
  },
  {
    kind: 'Dataplane',
    method: 'PUT',
    path: (name) => `/meshes/${MESH}/dataplanes/${name}`,
    base: (name) => {
      const body = dataplaneBody(MESH, name, 'svc')
      return {
        ...body,
        networking: {
          ...body.networking,
          outbound: [{ port: 9000, tags: { 'kuma.io/service': 'db' } }],
        },
      }
    },
    who: ['admin', 'user'],
    yaml: true,
    anonymousStatus: 403,
    freshNames: true,
  },
  {
    kind: 'TrafficPermission',
    method: 'PUT',
    path: (name) => `/meshes/${MESH}/traffic-permissions/${name}`,
    base: (name) => ({
      type: 'TrafficPermission',
      mesh: MESH,
      name,
      sources: [{ match: { 'kuma.io/service': '*' } }],
      destinations: [{ match: { 'kuma.io/service': 'web', version: 'v1' } }],
    }),
    who: ['admin', 'user'],
    yaml: true,
    anonymousStatus: 403,
    freshNames: true,
  },
  {
    kind: 'data plane token',
    method: 'POST',
    path: () => '/tokens/dataplane',
    base: (name) => ({
      name,
      mesh: MESH,
      tags: { 'kuma.io/service': ['web'] },
      type: 'dataplane',
      validFor: '1h',
    }),
    who: ['admin'],
    yaml: true,
    anonymousStatus: 403,
    freshNames: true,
  },
  {
    kind: 'user token',
    method: 'POST',
    path: () => '/tokens/user',
    base: (name) => ({ name, groups: ['team-b'], validFor: '1h' }),
    who: ['admin'],
    yaml: true,
    anonymousStatus: 403,
    freshNames: true,
  },
  {
    kind: 'identity (self-registration with a CSR)',
    method: 'POST',
    path: () => `/meshes/${MESH}/dataplanes/${SELF_REGISTERING}/identity`,
    base: (_name, context) => ({
      csr: context.material.csr.p256,
      dataplane: dataplaneBody(MESH, SELF_REGISTERING, 'reg', '10.0.0.2'),
    }),
    who: ['dpSelfRegistering'],
    yaml: false,
    anonymousStatus: 401,
    freshNames: false,
  },
]

/** A target name for a probe on `route`. */
export function targetName(route: BodyRoute, context: CorpusContext): string {
  return route.freshNames ? context.fresh('hx') : SELF_REGISTERING
}

/**
 * Who sends a probe: mostly a caller the route admits (so that the payload is what is tested),
 * sometimes nobody, whose answer is then fixed whatever the payload.
 */
export function callerFor(
  route: BodyRoute,
  context: CorpusContext
): { readonly who: Who; readonly anonymous?: Expectation } {
  if (context.random.chance(0.1)) {
    // The body limit runs before the route: an oversized body is a 413 whoever sends it.
    return { who: 'anonymous', anonymous: { statuses: [route.anonymousStatus, 413] } }
  }
  return { who: context.random.pick(route.who) }
}
