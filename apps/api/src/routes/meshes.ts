/** `/meshes`: Mesh CRUD through the MeshManager (validation, CA material, default policies). */
import type { MeshUpdateOptions, Resource, Violation } from '@meshca/core-mtls'
import { jsonEqual, validationError } from '@meshca/core-mtls'
import { type Context, Hono } from 'hono'
import type { AppEnv } from '../context.ts'
import { isAdmin, requireAdminForCaMaterial, requireAuthenticatedWriter } from '../http/access.ts'
import { listResponse } from '../http/pagination.ts'
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

/**
 * Response header carrying the warnings of decision 5 of docs/decisions.md: a JSON array of
 * `{field, message}`.
 */
export const WARNINGS_HEADER = 'x-meshca-warnings'

/**
 * Query parameter for disaster recovery: switch `enabledBackend` although data planes lag (decision
 * 4 of docs/decisions.md).
 */
export const UNSAFE_SWITCH_PARAM = 'allowUnsafeBackendSwitch'

export function meshRoutes(deps: RouteDeps): Hono<AppEnv> {
  const { core } = deps
  const app = new Hono<AppEnv>()

  app.get('/meshes', (c) =>
    listResponse(c, (options) => core.resources.list('Mesh', options), resourceJson)
  )

  app.get('/meshes/:name', async (c) => {
    c.set('errorTitle', TITLES.get)
    const mesh = await core.meshes.get(c.req.param('name'))
    if (mesh === undefined) throw notFound('Mesh', c.req.param('name'))
    return resourceResponse(c, mesh)
  })

  app.put('/meshes/:name', async (c) => {
    c.set('errorTitle', TITLES.process)
    requireAuthenticatedWriter(c, 'Mesh')
    const name = c.req.param('name')
    const options = updateOptions(c)
    if (options.allowUnsafeBackendSwitch) requireAdminForCaMaterial(c, `use ${UNSAFE_SWITCH_PARAM}`)
    const sent = resourceFromBody(await readBody(c), { type: 'Mesh', mesh: '', name })
    const outcome = await retryLostRaces(async () => {
      const stored = await core.meshes.get(name)
      const mesh = await core.meshes.withStoredInlineKeys(sent, stored)
      if (!sameMtls(mesh, stored)) requireAdminForCaMaterial(c, 'change the mtls of a Mesh')
      if (stored === undefined) {
        c.set('errorTitle', TITLES.create)
        return { status: 201 as const, ...(await core.meshes.create(mesh)) }
      }
      c.set('errorTitle', TITLES.update)
      const written = await core.meshes.update(withVersionOf(mesh, stored), options)
      return { status: 200 as const, ...written }
    })
    if (outcome.warnings.length > 0) {
      c.header(WARNINGS_HEADER, warningsHeader(outcome.warnings))
    }
    return c.body(null, outcome.status)
  })

  app.delete('/meshes/:name', async (c) => {
    c.set('errorTitle', TITLES.delete)
    requireAuthenticatedWriter(c, 'Mesh')
    const name = c.req.param('name')
    let expectedVersion: string | undefined
    if (!isAdmin(c.get('user'))) {
      // What was checked is what gets deleted: a Mesh given mtls meanwhile is a conflict.
      const mesh = await core.meshes.get(name)
      if (mesh !== undefined && (await holdsCaMaterial(deps, mesh))) {
        requireAdminForCaMaterial(
          c,
          `delete Mesh ${JSON.stringify(name)}, which holds CA material or Secrets`
        )
      }
      expectedVersion = mesh?.meta?.version
    }
    await core.meshes.delete(name, expectedVersion)
    return c.body(null, 200)
  })

  return app
}

/** A Mesh written without an `mtls` block has the same (no) CA as one never written. */
function sameMtls(mesh: Resource<'Mesh'>, stored: Resource<'Mesh'> | undefined): boolean {
  return jsonEqual(mesh.spec.mtls ?? null, stored?.spec.mtls ?? null)
}

/** What deleting the Mesh destroys with it: its CA backends' material, or any of its Secrets. */
async function holdsCaMaterial(deps: RouteDeps, mesh: Resource<'Mesh'>): Promise<boolean> {
  if ((mesh.spec.mtls?.backends ?? []).length > 0) return true
  return (await deps.core.secrets.list({ mesh: mesh.name, size: 1 })).total > 0
}

function updateOptions(c: Context<AppEnv>): MeshUpdateOptions {
  const value = c.req.query(UNSAFE_SWITCH_PARAM)
  if (value === undefined || value === 'false') return {}
  if (value === 'true') return { allowUnsafeBackendSwitch: true }
  throw validationError([{ field: UNSAFE_SWITCH_PARAM, message: 'has to be true or false' }])
}

/** JSON with every non-ASCII character escaped: header values must be visible ASCII. */
export function warningsHeader(warnings: readonly Violation[]): string {
  const json = JSON.stringify(warnings.map((w) => ({ field: w.field, message: w.message })))
  return json.replace(
    /[^\x20-\x7e]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`
  )
}
