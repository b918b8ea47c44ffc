/** An API over a memory store, driven through `app.request()`: no socket, no file. */
import {
  createDataplaneTokens,
  createInlineSigner,
  createMemoryStore,
  createMeshcaCore,
  createUserTokens,
  generateEncryptionKey,
  type Logger,
  type LogLevel,
  type Signer,
  type Store,
} from '@meshca/core-mtls'
import { type AppDeps, createApp, dataplaneSessionsFor } from '../../src/app.ts'
import { readCaFile } from '../../src/ca-files.ts'
import { SYSTEM_SECRETS_MESH } from '../../src/system-secrets.ts'

export const LOCALHOST = '127.0.0.1'
export const REMOTE = '203.0.113.7'

export interface LoggedLine {
  readonly level: LogLevel
  readonly message: string
  readonly fields: Readonly<Record<string, unknown>>
}

export interface RequestOptions {
  /** JSON-encoded unless a string. */
  readonly body?: unknown
  readonly contentType?: string | null
  readonly token?: string
  /** The peer address; default the loopback, which is admin unless `localhostIsAdmin` is off. */
  readonly from?: string
  readonly headers?: Record<string, string>
}

export interface HarnessOptions {
  readonly store?: Store
  readonly localhostIsAdmin?: boolean
  readonly maxBodyBytes?: number
  readonly signer?: Signer
  /** Share it (and the store) to run a second instance over the same data. */
  readonly encryptionKey?: Uint8Array
  /** Data plane streams: heartbeat period (default none) and re-issue window (default 200 ms). */
  readonly heartbeatIntervalMs?: number
  readonly reissueWindowMs?: number
  /** How long a data plane whose stream ended stays among endpoints (default 15 s). */
  readonly offlineGraceMs?: number
  readonly rotationJitter?: number
  readonly instanceId?: string
  /** CA backends may read `file` data sources (the operator flag); default off, as in production. */
  readonly allowFileDataSources?: boolean
}

export function createHarness(options: HarnessOptions = {}) {
  const store = options.store ?? createMemoryStore()
  const logged: LoggedLine[] = []
  const logger: Logger = {
    log: (level, message, fields = {}) => logged.push({ level, message, fields }),
  }
  const core = createMeshcaCore({
    store,
    signer: options.signer ?? createInlineSigner(),
    encryptionKey: options.encryptionKey ?? generateEncryptionKey(),
    logger,
    ...(options.rotationJitter === undefined ? {} : { rotationJitter: options.rotationJitter }),
    ...(options.allowFileDataSources === true ? { readFile: readCaFile } : {}),
  })
  // ES256 keeps key generation fast; RS256 (Kuma's) is covered by core's tests and the tokens tests.
  const userTokens = createUserTokens({
    secrets: core.secrets.system,
    mesh: SYSTEM_SECRETS_MESH,
    algorithm: 'ES256',
  })
  const dataplaneTokens = createDataplaneTokens({ secrets: core.secrets.system })
  const deps: AppDeps = {
    core,
    userTokens,
    dataplaneTokens,
    logger,
    ...(options.localhostIsAdmin === undefined
      ? {}
      : { localhostIsAdmin: options.localhostIsAdmin }),
    ...(options.maxBodyBytes === undefined ? {} : { maxBodyBytes: options.maxBodyBytes }),
    store,
    instanceId: options.instanceId ?? 'test-instance',
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 0,
    reissueWindowMs: options.reissueWindowMs ?? 200,
    ...(options.offlineGraceMs === undefined ? {} : { offlineGraceMs: options.offlineGraceMs }),
  }
  const dataplaneSessions = dataplaneSessionsFor(deps)
  const app = createApp({ ...deps, dataplaneSessions })

  async function request(method: string, path: string, opts: RequestOptions = {}) {
    const headers: Record<string, string> = { ...opts.headers }
    let body: string | undefined
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body)
      if (opts.contentType !== null)
        headers['content-type'] = opts.contentType ?? 'application/json'
    }
    if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`
    const init: RequestInit = { method, headers, ...(body === undefined ? {} : { body }) }
    return app.request(`http://localhost:5681${path}`, init, {
      remoteAddress: opts.from ?? LOCALHOST,
    })
  }

  return {
    app,
    core,
    store,
    userTokens,
    dataplaneTokens,
    dataplaneSessions,
    logged,
    request,
    get: (path: string, opts?: RequestOptions) => request('GET', path, opts),
    put: (path: string, body: unknown, opts?: RequestOptions) =>
      request('PUT', path, { ...opts, body }),
    del: (path: string, opts?: RequestOptions) => request('DELETE', path, opts),
    post: (path: string, body: unknown, opts?: RequestOptions) =>
      request('POST', path, { ...opts, body }),
    /** A user token signed by this control plane. */
    token: (name: string, groups: readonly string[] = []) =>
      userTokens.issue({ name, groups, validForMs: 3_600_000 }),
  }
}

export type Harness = ReturnType<typeof createHarness>

export async function json(response: Response): Promise<Record<string, unknown>> {
  const text = await response.text()
  try {
    return JSON.parse(text) as Record<string, unknown>
  } catch {
    throw new Error(`expected JSON, got ${response.status}: ${text}`)
  }
}

/** The parsed Kuma error body, after checking its shape. */
export async function errorBody(response: Response): Promise<{
  title: string
  details: string
  causes?: { field: string; message: string }[]
}> {
  const body = await json(response)
  if (typeof body.title !== 'string' || typeof body.details !== 'string') {
    throw new Error(`not a Kuma error body: ${JSON.stringify(body)}`)
  }
  const allowed = new Set(['title', 'details', 'causes'])
  for (const key of Object.keys(body)) {
    if (!allowed.has(key)) throw new Error(`unexpected member ${key} in ${JSON.stringify(body)}`)
  }
  return body as { title: string; details: string; causes?: { field: string; message: string }[] }
}

export function withoutTimes(resource: Record<string, unknown>): Record<string, unknown> {
  const { creationTime: _c, modificationTime: _m, ...rest } = resource
  return rest
}

export const base64 = (text: string) => Buffer.from(text).toString('base64')

export function secretBody(mesh: string, name: string, data: string) {
  return { type: 'Secret', mesh, name, data: base64(data) }
}
