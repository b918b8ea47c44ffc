/**
 * The data plane API: a data plane authenticates with its data plane token and receives its
 * identity (certificate chain, key unless it sent a CSR, trust bundle, mode), once with
 * `POST …/identity`, or as a stream of Server-Sent Events that pushes every replacement
 * (`GET …/identity/stream`). Documented in docs/api.md ("Data plane API").
 */
import {
  type DataplaneSpec,
  isMeshcaError,
  type Resource,
  specToJson,
  type Violation,
  validationError,
} from '@meshca/core-mtls'
import { type Context, Hono } from 'hono'
import type { AppEnv } from '../context.ts'
import {
  checkTokenAllows,
  checkTokenName,
  notRegistered,
  type TokenClaims,
  verifyDataplaneToken,
} from '../dataplanes/dataplane-auth.ts'
import type { DataplaneSessions } from '../dataplanes/dataplane-sessions.ts'
import { identityJson } from '../dataplanes/identity-json.ts'
import { eventStreamResponse } from '../http/event-stream.ts'
import { readOptionalBody } from '../http/read-body.ts'
import { resourceFromBody, withVersionOf } from '../http/resources.ts'
import { retryLostRaces } from '../http/retry.ts'
import { TITLES } from '../http/titles.ts'
import type { RouteDeps } from './route-deps.ts'

/** Request header of the stream's CSR flow: the base64 of a PEM (or DER) PKCS#10 request. */
export const CSR_HEADER = 'x-meshca-csr'

export interface DataplaneRouteDeps extends RouteDeps {
  readonly sessions: DataplaneSessions
}

interface IdentityBody {
  readonly csr?: string
  readonly dataplane?: unknown
}

const BODY_FIELDS = ['csr', 'dataplane']

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The optional JSON body of `POST …/identity`: `{csr?, dataplane?}`; no body at all is `{}`. */
async function identityBody(c: Context<AppEnv>): Promise<IdentityBody> {
  // JSON only: a data plane is a program, and Kuma's data plane endpoints take JSON too.
  const body = await readOptionalBody(c, { yaml: false })
  if (body === undefined) return {}
  if (!isPlainObject(body)) throw validationError([{ field: '', message: 'must be an object' }])
  const violations: Violation[] = []
  for (const key of Object.keys(body)) {
    if (!BODY_FIELDS.includes(key)) violations.push({ field: key, message: 'unknown field' })
  }
  const { csr, dataplane } = body
  if (csr !== undefined && (typeof csr !== 'string' || csr.trim() === '')) {
    violations.push({ field: 'csr', message: 'must be a PEM "CERTIFICATE REQUEST"' })
  }
  if (dataplane !== undefined && !isPlainObject(dataplane)) {
    violations.push({
      field: 'dataplane',
      message: 'must be a Dataplane resource (Universal form)',
    })
  }
  if (violations.length > 0) throw validationError(violations)
  return {
    ...(typeof csr === 'string' ? { csr } : {}),
    ...(dataplane === undefined ? {} : { dataplane }),
  }
}

/** The Dataplane a data plane sends to register itself, its violations under `dataplane.`. */
function dataplaneFromBody(json: unknown, mesh: string, name: string): Resource<'Dataplane'> {
  try {
    return resourceFromBody(json, { type: 'Dataplane', mesh, name })
  } catch (error) {
    if (!isMeshcaError(error, 'INVALID')) throw error
    const violations =
      error.violations.length > 0 ? error.violations : [{ field: '', message: error.message }]
    throw validationError(
      violations.map((v) => ({
        field: v.field === '' ? 'dataplane' : `dataplane.${v.field}`,
        message: v.message,
      }))
    )
  }
}

/** The CSR of the `x-meshca-csr` header as PEM; 400 at `csr` when it is not base64. */
function csrFromHeader(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === '') return undefined
  const compact = value.replace(/\s+/g, '')
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(compact)) {
    throw validationError([
      { field: 'csr', message: `the ${CSR_HEADER} header must be base64 (of a PEM or DER CSR)` },
    ])
  }
  const bytes = Buffer.from(compact, 'base64')
  const text = bytes.toString('utf8')
  if (text.includes('-----BEGIN')) return text
  const lines = bytes.toString('base64').match(/.{1,64}/g) ?? []
  return `-----BEGIN CERTIFICATE REQUEST-----\n${lines.join('\n')}\n-----END CERTIFICATE REQUEST-----\n`
}

function sameSpec(a: Resource<'Dataplane'>, b: Resource<'Dataplane'>): boolean {
  return (
    JSON.stringify(specToJson('Dataplane', a.spec)) ===
    JSON.stringify(specToJson('Dataplane', b.spec))
  )
}

/**
 * The Dataplane the identity is for: the stored one (the token must allow it), or the one sent,
 * created or updated when the token allows it (Kuma Universal's self-registration).
 */
async function registeredDataplane(
  { core, logger }: DataplaneRouteDeps,
  claims: TokenClaims,
  mesh: string,
  name: string,
  sent: Resource<'Dataplane'> | undefined
): Promise<DataplaneSpec> {
  if (sent === undefined) {
    const stored = await core.resources.get('Dataplane', mesh, name)
    if (stored === undefined) throw notRegistered(mesh, name)
    checkTokenAllows(claims, mesh, name, stored.spec)
    return stored.spec
  }
  checkTokenAllows(claims, mesh, name, sent.spec)
  return retryLostRaces(async () => {
    const stored = await core.resources.get('Dataplane', mesh, name)
    if (stored === undefined) {
      await core.resources.create(sent)
      logger.log('info', 'data plane registered itself', { mesh, dataplane: name })
      return sent.spec
    }
    // A token that may not open the stored data plane may not rewrite it either.
    checkTokenAllows(claims, mesh, name, stored.spec)
    if (sameSpec(stored, sent)) return stored.spec
    await core.resources.update(withVersionOf(sent, stored))
    logger.log('info', 'data plane updated its registration', { mesh, dataplane: name })
    return sent.spec
  })
}

export function dataplaneIdentityRoutes(deps: DataplaneRouteDeps): Hono<AppEnv> {
  const { core, sessions } = deps
  const app = new Hono<AppEnv>()

  app.post('/meshes/:mesh/dataplanes/:name/identity', async (c) => {
    c.set('errorTitle', TITLES.identity)
    const { mesh, name } = c.req.param()
    const claims = await verifyDataplaneToken(c.req.header('authorization'), mesh, deps)
    checkTokenName(claims, mesh, name)
    const body = await identityBody(c)
    const sent =
      body.dataplane === undefined ? undefined : dataplaneFromBody(body.dataplane, mesh, name)
    const dataplane = await registeredDataplane(deps, claims, mesh, name, sent)
    const result = await sessions.issueOnce({
      mesh,
      name,
      dataplane,
      claims,
      ...(body.csr === undefined ? {} : { csr: body.csr }),
    })
    return c.json(identityJson(result))
  })

  app.get('/meshes/:mesh/dataplanes/:name/identity/stream', async (c) => {
    c.set('errorTitle', TITLES.identity)
    const { mesh, name } = c.req.param()
    const claims = await verifyDataplaneToken(c.req.header('authorization'), mesh, deps)
    checkTokenName(claims, mesh, name)
    const csr = csrFromHeader(c.req.header(CSR_HEADER))
    const stored = await core.resources.get('Dataplane', mesh, name)
    if (stored === undefined) throw notRegistered(mesh, name)
    checkTokenAllows(claims, mesh, name, stored.spec)
    // Issued before the response starts: an overload is still a 503 with Retry-After.
    const session = await sessions.open({
      mesh,
      name,
      dataplane: stored.spec,
      claims,
      ...(csr === undefined ? {} : { csr }),
    })
    return eventStreamResponse(c, {
      attach: (sink) => session.attach(sink),
      ended: session.ended,
      disconnected: () => void session.end(),
    })
  })

  return app
}
