/**
 * Who may do what, as one table: every route (method × path) × every kind of caller, with the status
 * each must get. A new route is one row. The rules (apps/api/README.md, "Authentication and
 * authorization"; src/http/access.ts):
 * - anonymous callers (no token, localhost not admin) read non-secret resources, change nothing (403);
 * - Secrets and token issuance are admin-only (403), so is CA material: a Mesh's `mtls` changed,
 *   `?allowUnsafeBackendSwitch=true`, deleting a Mesh that holds CA backends or Secrets;
 * - a data plane token is not a user token: 401 on the user API;
 * - the data plane API takes the data plane's own token only: none, a user's or another mesh's is a
 *   401, another data plane's of the same mesh a 403;
 * - read-only types answer PUT and DELETE with 405.
 */
import { builtinMesh, DATAPLANE, dataplaneBody, MESH } from './hostile-world.ts'

export const SUBJECTS = ['anonymous', 'user', 'dpOwn', 'dpOther', 'dpOtherMesh', 'admin'] as const
export type Subject = (typeof SUBJECTS)[number]

/** The names a cell's path and body use: `{mesh}`, `{dp}`, and `{fresh}`, new for every cell. */
export interface CellNames {
  readonly fresh: string
}

export interface Setup {
  readonly names: CellNames
  /** A request as the admin; the setup fails unless it succeeds. */
  admin(method: string, path: string, body?: unknown): Promise<void>
}

export interface Row {
  readonly method: string
  /** With `{mesh}` (MESH), `{dp}` (DATAPLANE), `{fresh}` (CellNames.fresh). */
  readonly path: string
  /** What the row checks, when the path alone does not say it. */
  readonly note?: string
  body?(names: CellNames): unknown
  /** Run before each cell's request (so that every cell starts from the same state). */
  setup?(setup: Setup): Promise<void>
  readonly expect: Readonly<Record<Subject, number>>
}

/** A data plane token on the user API, whatever the route. */
const DP_ON_USER_API = { dpOwn: 401, dpOther: 401, dpOtherMesh: 401 } as const

const read = (status = 200) => ({
  anonymous: status,
  user: status,
  admin: status,
  ...DP_ON_USER_API,
})
const userWrite = (status: number) => ({
  anonymous: 403,
  user: status,
  admin: status,
  ...DP_ON_USER_API,
})
const adminOnly = (status: number) => ({
  anonymous: 403,
  user: 403,
  admin: status,
  ...DP_ON_USER_API,
})
const readOnlyType = { anonymous: 405, user: 405, admin: 405, ...DP_ON_USER_API }
const dataplaneApi = {
  anonymous: 401,
  user: 401,
  admin: 401,
  dpOwn: 200,
  dpOther: 403,
  dpOtherMesh: 401,
}

const plainMesh = (name: string, extra: object = {}) => ({ type: 'Mesh', name, ...extra })
const secret = (name: string) => ({ type: 'Secret', mesh: MESH, name, data: 'aGVsbG8=' })
const permission = (name: string) => ({
  type: 'TrafficPermission',
  mesh: MESH,
  name,
  sources: [{ match: { 'kuma.io/service': '*' } }],
  destinations: [{ match: { 'kuma.io/service': 'web' } }],
})

const createPlainMesh = ({ admin, names }: Setup) =>
  admin('PUT', `/meshes/${names.fresh}`, plainMesh(names.fresh))
const createBuiltinMesh = ({ admin, names }: Setup) =>
  admin('PUT', `/meshes/${names.fresh}`, builtinMesh(names.fresh))

export const ACCESS_TABLE: readonly Row[] = [
  { method: 'GET', path: '/', expect: read() },
  { method: 'GET', path: '/no-such-route', expect: read(404) },

  { method: 'GET', path: '/meshes', expect: read() },
  { method: 'GET', path: '/meshes/{mesh}', expect: read() },
  { method: 'GET', path: '/meshes/{fresh}', note: 'missing', expect: read(404) },
  {
    method: 'PUT',
    path: '/meshes/{fresh}',
    note: 'create without mtls',
    body: ({ fresh }) => plainMesh(fresh),
    expect: userWrite(201),
  },
  {
    method: 'PUT',
    path: '/meshes/{fresh}',
    note: 'update without mtls',
    setup: createPlainMesh,
    body: ({ fresh }) => plainMesh(fresh, { routing: { localityAwareLoadBalancing: true } }),
    expect: userWrite(200),
  },
  {
    method: 'PUT',
    path: '/meshes/{fresh}',
    note: 'create with mtls',
    body: ({ fresh }) => builtinMesh(fresh),
    expect: adminOnly(201),
  },
  {
    method: 'PUT',
    path: '/meshes/{fresh}',
    note: 'turn mtls on',
    setup: createPlainMesh,
    body: ({ fresh }) => builtinMesh(fresh),
    expect: adminOnly(200),
  },
  {
    method: 'PUT',
    path: '/meshes/{fresh}',
    note: 'remove mtls',
    setup: createBuiltinMesh,
    body: ({ fresh }) => plainMesh(fresh),
    expect: adminOnly(200),
  },
  {
    method: 'PUT',
    path: '/meshes/{fresh}',
    note: 'mtls sent back unchanged',
    setup: createBuiltinMesh,
    body: ({ fresh }) => ({ ...builtinMesh(fresh), routing: { zoneEgress: true } }),
    expect: userWrite(200),
  },
  {
    method: 'PUT',
    path: '/meshes/{fresh}?allowUnsafeBackendSwitch=true',
    setup: createPlainMesh,
    body: ({ fresh }) => plainMesh(fresh),
    expect: adminOnly(200),
  },
  {
    method: 'PUT',
    path: '/meshes/{fresh}?allowUnsafeBackendSwitch=false',
    setup: createPlainMesh,
    body: ({ fresh }) => plainMesh(fresh),
    expect: userWrite(200),
  },
  {
    method: 'DELETE',
    path: '/meshes/{fresh}',
    note: 'plain',
    setup: createPlainMesh,
    expect: userWrite(200),
  },
  {
    method: 'DELETE',
    path: '/meshes/{fresh}',
    note: 'holds a Secret',
    setup: async (s) => {
      await createPlainMesh(s)
      await s.admin('PUT', `/meshes/${s.names.fresh}/secrets/kept`, {
        ...secret('kept'),
        mesh: s.names.fresh,
      })
    },
    expect: adminOnly(200),
  },
  {
    method: 'DELETE',
    path: '/meshes/{fresh}',
    note: 'holds a CA backend',
    setup: createBuiltinMesh,
    expect: adminOnly(200),
  },
  { method: 'DELETE', path: '/meshes/{fresh}', note: 'missing', expect: userWrite(404) },

  { method: 'GET', path: '/secrets', expect: adminOnly(200) },
  { method: 'GET', path: '/meshes/{mesh}/secrets', expect: adminOnly(200) },
  {
    method: 'GET',
    path: '/meshes/{mesh}/secrets/{fresh}',
    setup: ({ admin, names }) =>
      admin('PUT', `/meshes/${MESH}/secrets/${names.fresh}`, secret(names.fresh)),
    expect: adminOnly(200),
  },
  {
    method: 'GET',
    path: '/meshes/{mesh}/secrets/{fresh}',
    note: 'missing',
    expect: adminOnly(404),
  },
  {
    method: 'PUT',
    path: '/meshes/{mesh}/secrets/{fresh}',
    note: 'create',
    body: ({ fresh }) => secret(fresh),
    expect: adminOnly(201),
  },
  {
    method: 'PUT',
    path: '/meshes/{mesh}/secrets/{fresh}',
    note: 'update',
    setup: ({ admin, names }) =>
      admin('PUT', `/meshes/${MESH}/secrets/${names.fresh}`, secret(names.fresh)),
    body: ({ fresh }) => ({ ...secret(fresh), data: 'Ynll' }),
    expect: adminOnly(200),
  },
  {
    method: 'DELETE',
    path: '/meshes/{mesh}/secrets/{fresh}',
    setup: ({ admin, names }) =>
      admin('PUT', `/meshes/${MESH}/secrets/${names.fresh}`, secret(names.fresh)),
    expect: adminOnly(200),
  },

  { method: 'GET', path: '/dataplanes', expect: read() },
  { method: 'GET', path: '/meshes/{mesh}/dataplanes', expect: read() },
  { method: 'GET', path: '/meshes/{mesh}/dataplanes/{dp}', expect: read() },
  {
    method: 'PUT',
    path: '/meshes/{mesh}/dataplanes/{fresh}',
    note: 'create',
    body: ({ fresh }) => dataplaneBody(MESH, fresh, 'svc'),
    expect: userWrite(201),
  },
  {
    method: 'PUT',
    path: '/meshes/{mesh}/dataplanes/{fresh}',
    note: 'update',
    setup: ({ admin, names }) =>
      admin(
        'PUT',
        `/meshes/${MESH}/dataplanes/${names.fresh}`,
        dataplaneBody(MESH, names.fresh, 'svc')
      ),
    body: ({ fresh }) => dataplaneBody(MESH, fresh, 'svc', '10.0.0.9'),
    expect: userWrite(200),
  },
  {
    method: 'DELETE',
    path: '/meshes/{mesh}/dataplanes/{fresh}',
    setup: ({ admin, names }) =>
      admin(
        'PUT',
        `/meshes/${MESH}/dataplanes/${names.fresh}`,
        dataplaneBody(MESH, names.fresh, 'svc')
      ),
    expect: userWrite(200),
  },

  { method: 'GET', path: '/traffic-permissions', expect: read() },
  { method: 'GET', path: '/meshes/{mesh}/traffic-permissions', expect: read() },
  { method: 'GET', path: '/meshes/{mesh}/traffic-permissions/allow-all-{mesh}', expect: read() },
  {
    method: 'PUT',
    path: '/meshes/{mesh}/traffic-permissions/{fresh}',
    note: 'create',
    body: ({ fresh }) => permission(fresh),
    expect: userWrite(201),
  },
  {
    method: 'PUT',
    path: '/meshes/{mesh}/traffic-permissions/{fresh}',
    note: 'update',
    setup: ({ admin, names }) =>
      admin('PUT', `/meshes/${MESH}/traffic-permissions/${names.fresh}`, permission(names.fresh)),
    body: ({ fresh }) => ({
      ...permission(fresh),
      sources: [{ match: { 'kuma.io/service': 'web' } }],
    }),
    expect: userWrite(200),
  },
  {
    method: 'DELETE',
    path: '/meshes/{mesh}/traffic-permissions/{fresh}',
    setup: ({ admin, names }) =>
      admin('PUT', `/meshes/${MESH}/traffic-permissions/${names.fresh}`, permission(names.fresh)),
    expect: userWrite(200),
  },

  { method: 'GET', path: '/dataplane-insights', expect: read() },
  { method: 'GET', path: '/meshes/{mesh}/dataplane-insights', expect: read() },
  { method: 'GET', path: '/meshes/{mesh}/dataplane-insights/{dp}', expect: read() },
  {
    method: 'PUT',
    path: '/meshes/{mesh}/dataplane-insights/{dp}',
    body: () => ({}),
    expect: readOnlyType,
  },
  { method: 'DELETE', path: '/meshes/{mesh}/dataplane-insights/{dp}', expect: readOnlyType },

  { method: 'GET', path: '/mesh-insights', expect: read() },
  { method: 'GET', path: '/mesh-insights/{mesh}', expect: read() },
  { method: 'PUT', path: '/mesh-insights/{mesh}', body: () => ({}), expect: readOnlyType },
  { method: 'DELETE', path: '/mesh-insights/{mesh}', expect: readOnlyType },

  { method: 'GET', path: '/dataplanes+insights', expect: read() },
  { method: 'GET', path: '/meshes/{mesh}/dataplanes+insights', expect: read() },
  { method: 'GET', path: '/meshes/{mesh}/dataplanes+insights/{dp}', expect: read() },

  {
    method: 'POST',
    path: '/tokens/user',
    body: () => ({ name: 'bob', groups: ['team-b'], validFor: '1h' }),
    expect: adminOnly(200),
  },
  {
    method: 'POST',
    path: '/tokens/dataplane',
    body: () => ({
      name: 'dp-x',
      mesh: MESH,
      tags: { 'kuma.io/service': ['web'] },
      validFor: '1h',
    }),
    expect: adminOnly(200),
  },
  {
    method: 'POST',
    path: '/tokens/user/revocations',
    body: () => ({ id: 'no-such-token-id' }),
    expect: adminOnly(200),
  },
  { method: 'GET', path: '/tokens/user/revocations', expect: adminOnly(200) },

  { method: 'POST', path: '/meshes/{mesh}/dataplanes/{dp}/identity', expect: dataplaneApi },
  { method: 'GET', path: '/meshes/{mesh}/dataplanes/{dp}/identity/stream', expect: dataplaneApi },
]

export function rowLabel(row: Row): string {
  return `${row.method} ${row.path}${row.note === undefined ? '' : ` (${row.note})`}`
}

export function resolvePath(path: string, names: CellNames): string {
  return path
    .replaceAll('{mesh}', MESH)
    .replaceAll('{dp}', DATAPLANE)
    .replaceAll('{fresh}', names.fresh)
}
