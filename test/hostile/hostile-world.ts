/**
 * The control plane the hostile suites attack: the real entry on PGlite in a temporary directory,
 * started with `--localhost-is-admin false` so that a request from the test is anonymous unless it
 * carries a token, and the meshes, tokens and data planes every suite needs.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  type ControlPlane,
  removeDir,
  startControlPlane,
  tempDir,
} from '@meshca/test-support/processes'

/** mTLS on: builtin CA, ECDSA root and leaves (cheap to make, so the corpus stays fast). */
export const MESH = 'hm'
/** Another mesh with its own CA and a data plane of the same name as one of MESH's. */
export const OTHER_MESH = 'hm2'
/** mTLS off: the target of the corpus's CA changes, which should all be refused. */
export const PLAIN_MESH = 'hp'
export const SERVICE = 'web'
/** The data plane whose identity the suites ask for, and a second one of the same service. */
export const DATAPLANE = 'web-1'
export const OTHER_DATAPLANE = 'web-2'
/** The data plane the corpus re-registers with mutated Dataplane bodies. */
export const SELF_REGISTERING = 'reg'

export interface Tokens {
  readonly admin: string
  /** `alice`, groups `team-a`: an authenticated non-admin. */
  readonly user: string
  readonly expiredUser: string
  /** DATAPLANE of MESH: the identity routes' rightful caller. */
  readonly dpOwn: string
  /** OTHER_DATAPLANE of MESH. */
  readonly dpOther: string
  /** DATAPLANE of OTHER_MESH: the same name, signed by another mesh's key. */
  readonly dpOtherMesh: string
  readonly dpExpired: string
  /** DATAPLANE of MESH, but an `ingress` token. */
  readonly dpIngress: string
  /** SELF_REGISTERING of MESH, service `reg`. */
  readonly dpSelfRegistering: string
}

export interface World {
  readonly cp: ControlPlane
  readonly origin: string
  readonly tokens: Tokens
  /** A request as the admin (bootstrap token); JSON bodies. */
  admin(method: string, path: string, body?: unknown): Promise<Response>
  stop(): Promise<void>
}

export function builtinMesh(name: string): Record<string, unknown> {
  return {
    type: 'Mesh',
    name,
    mtls: {
      enabledBackend: 'ca-1',
      backends: [
        {
          name: 'ca-1',
          type: 'builtin',
          dpCert: { rotation: { expiration: '1d' }, keyType: 'ECDSA_P256' },
          conf: { caCert: { expiration: '10y', keyType: 'ECDSA_P256' } },
        },
      ],
    },
  }
}

export function dataplaneBody(mesh: string, name: string, service: string, address = '10.0.0.1') {
  return {
    type: 'Dataplane',
    mesh,
    name,
    networking: {
      address,
      inbound: [{ port: 8080, servicePort: 80, tags: { 'kuma.io/service': service } }],
    },
  }
}

async function expectOk(response: Response, what: string): Promise<string> {
  const text = await response.text()
  if (!response.ok) throw new Error(`${what}: ${response.status} ${text}`)
  return text
}

/** Polls until `token` no longer opens `method path` (its 1 s validity is over). */
async function waitUntilExpired(
  origin: string,
  method: string,
  path: string,
  token: string
): Promise<void> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const response = await fetch(`${origin}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}` },
    })
    await response.text()
    if (response.status === 401) return
    if (Date.now() > deadline) throw new Error(`a 1 s token still opens ${path} after 15 s`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

export async function startWorld(prefix: string): Promise<World> {
  const dataDir = tempDir(prefix)
  const cp = await startControlPlane({ dataDir, args: ['--localhost-is-admin', 'false'] })
  const origin = cp.url
  const adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim()
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${origin}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
  const token = async (kind: 'user' | 'dataplane', request: unknown) =>
    (await expectOk(await admin('POST', `/tokens/${kind}`, request), `${kind} token`)).trim()
  const dpToken = (mesh: string, name: string, service: string, extra: object = {}) =>
    token('dataplane', { name, mesh, tags: { 'kuma.io/service': [service] }, ...extra })

  for (const mesh of [MESH, OTHER_MESH]) {
    await expectOk(await admin('PUT', `/meshes/${mesh}`, builtinMesh(mesh)), `mesh ${mesh}`)
  }
  await expectOk(
    await admin('PUT', `/meshes/${PLAIN_MESH}`, { type: 'Mesh', name: PLAIN_MESH }),
    'plain mesh'
  )
  const tokens: Tokens = {
    admin: adminToken,
    user: await token('user', { name: 'alice', groups: ['team-a'], validFor: '24h' }),
    expiredUser: await token('user', { name: 'alice', groups: ['team-a'], validFor: '1s' }),
    dpOwn: await dpToken(MESH, DATAPLANE, SERVICE),
    dpOther: await dpToken(MESH, OTHER_DATAPLANE, SERVICE),
    dpOtherMesh: await dpToken(OTHER_MESH, DATAPLANE, SERVICE),
    dpExpired: await dpToken(MESH, DATAPLANE, SERVICE, { validFor: '1s' }),
    dpIngress: await dpToken(MESH, DATAPLANE, SERVICE, { type: 'ingress' }),
    dpSelfRegistering: await dpToken(MESH, SELF_REGISTERING, 'reg'),
  }
  const register = async (mesh: string, name: string, dpToken: string) =>
    expectOk(
      await fetch(`${origin}/meshes/${mesh}/dataplanes/${name}/identity`, {
        method: 'POST',
        headers: { authorization: `Bearer ${dpToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ dataplane: dataplaneBody(mesh, name, SERVICE) }),
      }),
      `register ${mesh}/${name}`
    )
  await register(MESH, DATAPLANE, tokens.dpOwn)
  await register(MESH, OTHER_DATAPLANE, tokens.dpOther)
  await register(OTHER_MESH, DATAPLANE, tokens.dpOtherMesh)
  await waitUntilExpired(origin, 'GET', '/meshes', tokens.expiredUser)
  await waitUntilExpired(
    origin,
    'POST',
    `/meshes/${MESH}/dataplanes/${DATAPLANE}/identity`,
    tokens.dpExpired
  )
  return {
    cp,
    origin,
    tokens,
    admin,
    stop: async () => {
      await cp.stop()
      removeDir(dataDir)
    },
  }
}
