import { createPrivateKey, X509Certificate } from 'node:crypto'
import {
  createInlineSigner,
  createMemoryStore,
  createMemoryStoreData,
  generateEncryptionKey,
  isMeshcaError,
  MeshcaError,
  type Signer,
  type Store,
} from '@meshca/core-mtls'
import {
  type Identity as IdentityJson,
  postIdentity,
  verifyIdentity as verifyStrict,
} from '@meshca/test-support/dataplanes'
import { opensslOk as openssl, opensslCsr } from '@meshca/test-support/openssl'
import { afterEach, describe, expect, it } from 'vitest'
import { builtinMesh, dpToken, putOk, registered } from './support/dataplane-setup.ts'
import { dataplane } from './support/fixtures.ts'
import { createHarness, errorBody, type Harness, json } from './support/harness.ts'

const WEB = { 'kuma.io/service': ['web'] }
const harnesses: Harness[] = []

function harness(options: Parameters<typeof createHarness>[0] = {}): Harness {
  const h = createHarness(options)
  harnesses.push(h)
  return h
}

afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.dataplaneSessions.close()))
})

async function meshWithWeb(h: Harness, mesh = 'default', expiration = '1h'): Promise<string> {
  await putOk(h, `/meshes/${mesh}`, builtinMesh(mesh, { expiration }))
  await registered(h, mesh, 'web-1', 'web')
  return dpToken(h, mesh, 'web-1', WEB)
}

async function identityOf(response: Response): Promise<IdentityJson> {
  expect(response.status, await response.clone().text()).toBe(200)
  return (await response.json()) as IdentityJson
}

async function insightOf(h: Harness, mesh: string, name: string) {
  return (await h.core.resources.get('DataplaneInsight', mesh, name))?.spec
}

describe('POST /meshes/{mesh}/dataplanes/{name}/identity', () => {
  it('issues the data plane its certificate, key and the mesh’s trust bundle', async () => {
    const h = harness()
    const token = await meshWithWeb(h)
    const before = Date.now()
    const identity = await identityOf(await postIdentity(h, 'default', 'web-1', token))
    expect(Object.keys(identity)).toEqual([
      'certificateChain',
      'privateKey',
      'trustBundle',
      'mode',
      'backend',
      'supportedBackends',
      'generation',
      'expiration',
      'rotateAt',
    ])
    expect(identity).toMatchObject({ mode: 'STRICT', backend: 'ca-1', supportedBackends: ['ca-1'] })
    expect(verifyStrict(identity)).toContain('leaf.pem: OK')
    const leaf = new X509Certificate(identity.certificateChain)
    expect(leaf.subjectAltName).toBe('URI:spiffe://default/web, URI:kuma://kuma.io/service/web')
    expect(leaf.checkPrivateKey(createPrivateKey(identity.privateKey ?? ''))).toBe(true)
    // RFC 3339 times; rotation after 4/5 of the lifetime plus at most 5 % of jitter.
    for (const field of ['generation', 'expiration', 'rotateAt'] as const) {
      expect(identity[field]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)
    }
    const generation = Date.parse(identity.generation)
    const lifetime = Date.parse(identity.expiration) - generation
    expect(generation).toBeGreaterThanOrEqual(before - 1000)
    // NotAfter is rounded up to whole seconds: the configured hour, plus less than a second.
    expect(lifetime).toBeGreaterThanOrEqual(3_600_000)
    expect(lifetime).toBeLessThan(3_601_000)
    const rotation = (Date.parse(identity.rotateAt) - generation) / lifetime
    expect(rotation).toBeGreaterThanOrEqual(0.799)
    expect(rotation).toBeLessThanOrEqual(0.851)
    expect(new Date(leaf.validTo).getTime()).toBe(Date.parse(identity.expiration))
  })

  it('gives a fresh certificate on every call', async () => {
    const h = harness()
    const token = await meshWithWeb(h)
    const a = await identityOf(await postIdentity(h, 'default', 'web-1', token))
    const b = await identityOf(await postIdentity(h, 'default', 'web-1', token))
    expect(new X509Certificate(a.certificateChain).serialNumber).not.toBe(
      new X509Certificate(b.certificateChain).serialNumber
    )
    expect(a.privateKey).not.toBe(b.privateKey)
    expect(a.trustBundle).toBe(b.trustBundle)
  })

  it('answers mode DISABLED without a certificate when mTLS is off', async () => {
    const h = harness()
    await putOk(h, '/meshes/plain', { type: 'Mesh', name: 'plain' })
    await registered(h, 'plain', 'web-1', 'web')
    const token = await dpToken(h, 'plain', 'web-1', WEB)
    const response = await postIdentity(h, 'plain', 'web-1', token)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ mode: 'DISABLED' })
    expect((await insightOf(h, 'plain', 'web-1'))?.mTLS).toBeUndefined()
  })

  describe('authentication (data plane tokens, docs/kuma-compatibility.md §11)', () => {
    it('refuses a request without a valid data plane token with a 401', async () => {
      const h = harness()
      const token = await meshWithWeb(h)
      const cases: (string | undefined)[] = [
        undefined,
        'not-a-jwt',
        `${token.slice(0, -4)}AAAA`,
        await h.token('mesh-system:admin', ['mesh-system:admin']),
      ]
      for (const bearer of cases) {
        const response = await postIdentity(h, 'default', 'web-1', bearer)
        expect(response.status).toBe(401)
        expect(await errorBody(response)).toEqual({
          title: 'Invalid authentication data',
          details: 'Unauthenticated',
        })
      }
      // Being on localhost makes a user an admin of the admin API, never a data plane.
      const basic = await h.request('POST', '/meshes/default/dataplanes/web-1/identity', {
        headers: { authorization: 'Basic d2ViOndlYg==' },
      })
      expect(basic.status).toBe(401)
    })

    it('refuses a token of another mesh and an unknown mesh with a 401', async () => {
      const h = harness()
      const token = await meshWithWeb(h)
      await putOk(h, '/meshes/other', builtinMesh('other'))
      await registered(h, 'other', 'web-1', 'web')
      expect((await postIdentity(h, 'other', 'web-1', token)).status).toBe(401)
      expect((await postIdentity(h, 'nope', 'web-1', token)).status).toBe(401)
    })

    it('refuses a token for data plane A asking for B, and tags the token does not allow, with a 403', async () => {
      const h = harness()
      const tokenA = await meshWithWeb(h)
      await registered(h, 'default', 'web-2', 'web')
      await registered(h, 'default', 'db-1', 'db')
      const forB = await postIdentity(h, 'default', 'web-2', tokenA)
      expect(forB.status).toBe(403)
      expect(await errorBody(forB)).toEqual({
        title: 'Access Denied',
        details: 'proxy name from requestor: web-2 is different than in token: web-1',
      })
      // A token without a name opens any data plane whose tags it allows.
      const webOnly = await dpToken(h, 'default', '', WEB)
      expect((await postIdentity(h, 'default', 'web-2', webOnly)).status).toBe(200)
      const db = await postIdentity(h, 'default', 'db-1', webOnly)
      expect(db.status).toBe(403)
      expect((await errorBody(db)).details).toBe(
        'dataplane contains tag "kuma.io/service" with value "db" which is not allowed with this token. Allowed values in token are ["web"]'
      )
      const versioned = await dpToken(h, 'default', 'web-1', { ...WEB, version: ['v1'] })
      const missingTag = await postIdentity(h, 'default', 'web-1', versioned)
      expect(missingTag.status).toBe(403)
      expect((await errorBody(missingTag)).details).toBe(
        'dataplane has no tag "version" required by the token'
      )
      // Never a certificate in a refused response, and nothing counted.
      expect(await insightOf(h, 'default', 'db-1')).toBeUndefined()
    })

    it('refuses ingress and egress tokens', async () => {
      const h = harness()
      await meshWithWeb(h)
      const ingress = await h.dataplaneTokens.issue({
        name: 'web-1',
        mesh: 'default',
        tags: {},
        type: 'ingress',
        validForMs: 60_000,
      })
      const response = await postIdentity(h, 'default', 'web-1', ingress)
      expect(response.status).toBe(403)
      expect((await errorBody(response)).details).toBe(
        'a token of type "ingress" cannot be used by a data plane proxy'
      )
    })
  })

  describe('the CSR flow (decision 17 of docs/decisions.md)', () => {
    it('certifies the data plane’s own key and returns no private key', async () => {
      const h = harness()
      const token = await meshWithWeb(h)
      const request = opensslCsr(['ec', '-pkeyopt', 'ec_paramgen_curve:P-256'])
      const identity = await identityOf(
        await postIdentity(h, 'default', 'web-1', token, { csr: request.csr })
      )
      expect(identity.privateKey).toBeUndefined()
      expect('privateKey' in identity).toBe(false)
      expect(verifyStrict(identity)).toContain('leaf.pem: OK')
      const leaf = new X509Certificate(identity.certificateChain)
      // The SANs come from the token and the Dataplane, not from what the CSR asks for.
      expect(leaf.subjectAltName).toBe('URI:spiffe://default/web, URI:kuma://kuma.io/service/web')
      const publicKey = openssl(['pkey', '-pubout', '-in', 'k.pem'], { 'k.pem': request.key })
      expect(leaf.publicKey.export({ type: 'spki', format: 'pem' })).toBe(publicKey)
    })

    it('refuses a weak key, a bad signature and garbage with a 400 at csr', async () => {
      const h = harness()
      const token = await meshWithWeb(h)
      const weak = opensslCsr(['rsa:1024'])
      const weakResponse = await postIdentity(h, 'default', 'web-1', token, { csr: weak.csr })
      expect(weakResponse.status).toBe(400)
      expect(await errorBody(weakResponse)).toEqual({
        title: 'Could not issue a data plane identity',
        details: 'Resource is not valid',
        causes: [
          {
            field: 'csr',
            message: 'RSA key of 1024 bits is too weak; at least 2048 bits are required',
          },
        ],
      })
      const good = opensslCsr(['rsa:2048'])
      const der = Buffer.from(good.csr.replace(/-----[^-]+-----|\s/g, ''), 'base64')
      der[der.length - 5] = (der[der.length - 5] ?? 0) ^ 0xff
      const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`
      const bad = await postIdentity(h, 'default', 'web-1', token, { csr: tampered })
      expect(bad.status).toBe(400)
      expect((await errorBody(bad)).causes).toEqual([
        { field: 'csr', message: 'signature does not match its public key' },
      ])
      const garbage = await postIdentity(h, 'default', 'web-1', token, { csr: 'garbage' })
      expect(garbage.status).toBe(400)
      expect((await errorBody(garbage)).causes?.[0]?.field).toBe('csr')
      const notText = await postIdentity(h, 'default', 'web-1', token, { csr: 42, extra: true })
      expect((await errorBody(notText)).causes).toEqual([
        { field: 'extra', message: 'unknown field' },
        { field: 'csr', message: 'must be a PEM "CERTIFICATE REQUEST"' },
      ])
      expect(await insightOf(h, 'default', 'web-1')).toBeUndefined()
    })

    it('takes JSON only, and refuses deep nesting before parsing it', async () => {
      const h = harness()
      const token = await meshWithWeb(h)
      const path = '/meshes/default/dataplanes/web-1/identity'
      const auth = { token }
      const yaml = await h.post(path, 'csr: x\n', { ...auth, contentType: 'application/yaml' })
      expect(yaml.status).toBe(415)
      expect((await errorBody(yaml)).details).toBe(
        'Unsupported Media Type: "application/yaml"; send application/json'
      )
      for (let round = 0; round < 3; round++) {
        const deep = await h.post(path, `{"dataplane":${'['.repeat(24_000)}`, auth)
        expect(deep.status).toBe(400)
        expect((await errorBody(deep)).details).toBe(
          'request body is not valid JSON: more than 64 levels of nesting at line 1, column 77'
        )
      }
      await identityOf(await h.post(path, '', auth))
    })
  })

  describe('self-registration (Universal)', () => {
    it('answers 404 for an unregistered data plane that does not send its Dataplane', async () => {
      const h = harness()
      await putOk(h, '/meshes/default', builtinMesh('default'))
      const token = await dpToken(h, 'default', 'web-1', WEB)
      const response = await postIdentity(h, 'default', 'web-1', token)
      expect(response.status).toBe(404)
      const body = await errorBody(response)
      expect(body.details).toBe('Not found')
      expect(body.causes?.[0]?.message).toContain('is not registered in mesh "default"')
    })

    it('registers the Dataplane it sends when its token allows it', async () => {
      const h = harness()
      await putOk(h, '/meshes/default', builtinMesh('default'))
      const token = await dpToken(h, 'default', 'web-1', WEB)
      const sent = dataplane('default', 'web-1', { 'kuma.io/service': 'web' })
      const identity = await identityOf(
        await postIdentity(h, 'default', 'web-1', token, { dataplane: sent })
      )
      expect(new X509Certificate(identity.certificateChain).subjectAltName).toContain(
        'spiffe://default/web'
      )
      expect((await h.core.resources.get('Dataplane', 'default', 'web-1'))?.spec).toMatchObject({
        networking: {
          address: '10.0.0.1',
          inbound: [{ port: 8080, tags: { 'kuma.io/service': 'web' } }],
        },
      })
      // Sent again unchanged: no write; changed within the token's rights: updated.
      const moved = { ...sent, networking: { ...sent.networking, address: '10.0.0.2' } }
      expect((await postIdentity(h, 'default', 'web-1', token, { dataplane: moved })).status).toBe(
        200
      )
      expect(
        (await h.core.resources.get('Dataplane', 'default', 'web-1'))?.spec.networking.address
      ).toBe('10.0.0.2')
    })

    it('refuses a Dataplane its token does not allow, or that does not match the URL', async () => {
      const h = harness()
      await putOk(h, '/meshes/default', builtinMesh('default'))
      await registered(h, 'default', 'db-1', 'db')
      const webOnly = await dpToken(h, 'default', '', WEB)
      const asDb = await postIdentity(h, 'default', 'web-9', webOnly, {
        dataplane: dataplane('default', 'web-9', { 'kuma.io/service': 'db' }),
      })
      expect(asDb.status).toBe(403)
      expect(await h.core.resources.get('Dataplane', 'default', 'web-9')).toBeUndefined()
      // Taking over another service's registration with tags the token allows is refused too.
      const takeover = await postIdentity(h, 'default', 'db-1', webOnly, {
        dataplane: dataplane('default', 'db-1', { 'kuma.io/service': 'web' }),
      })
      expect(takeover.status).toBe(403)
      expect(
        (await h.core.resources.get('Dataplane', 'default', 'db-1'))?.spec.networking.inbound[0]
          ?.tags
      ).toEqual({ 'kuma.io/service': 'db' })
      const mismatch = await postIdentity(h, 'default', 'web-9', webOnly, {
        dataplane: dataplane('default', 'other', { 'kuma.io/service': 'web' }),
      })
      expect(mismatch.status).toBe(400)
      expect((await errorBody(mismatch)).causes).toEqual([
        { field: 'dataplane.name', message: 'name from the URL has to be the same as in body' },
      ])
      const invalid = await postIdentity(h, 'default', 'web-9', webOnly, {
        dataplane: { type: 'Dataplane', mesh: 'default', name: 'web-9', networking: {} },
      })
      expect(invalid.status).toBe(400)
      expect(
        (await errorBody(invalid)).causes?.every((c) => c.field.startsWith('dataplane.'))
      ).toBe(true)
    })
  })

  describe('insights', () => {
    it('counts every regeneration and shows it in dataplanes+insights', async () => {
      const h = harness()
      const token = await meshWithWeb(h)
      let last: IdentityJson | undefined
      for (let i = 0; i < 3; i++) {
        last = await identityOf(await postIdentity(h, 'default', 'web-1', token))
      }
      const overview = await json(await h.get('/meshes/default/dataplanes+insights/web-1'))
      expect(overview.dataplaneInsight).toEqual({
        mTLS: {
          certificateExpirationTime: last?.expiration,
          lastCertificateRegeneration: new Date(last?.generation ?? 0).toISOString(),
          certificateRegenerations: 3,
          issuedBackend: 'ca-1',
          supportedBackends: ['ca-1'],
        },
      })
      expect(last?.expiration).toMatch(/:\d\dZ$/)
    })

    it('loses no count when two instances write the same insight at once', async () => {
      const data = createMemoryStoreData()
      const encryptionKey = generateEncryptionKey()
      let conflicts = 0
      // The first two reads of the insight (one per instance: each instance queues its own writes)
      // wait for each other, so both write over the same version and one of them must re-read.
      const barrier: (() => void)[] = []
      let held = 0
      const counting = (store: Store): Store => ({
        ...store,
        watch: store.watch.bind(store),
        get: async (key) => {
          if (key.type === 'DataplaneInsight' && held < 2) {
            held++
            await new Promise<void>((resolve) => {
              barrier.push(resolve)
              if (barrier.length === 2) for (const release of barrier) release()
            })
          }
          return store.get(key)
        },
        create: (key, spec) =>
          store.create(key, spec).catch((error: unknown) => {
            if (isMeshcaError(error, 'ALREADY_EXISTS')) conflicts++
            throw error
          }),
        update: (key, spec, version) =>
          store.update(key, spec, version).catch((error: unknown) => {
            if (isMeshcaError(error, 'CONFLICT')) conflicts++
            throw error
          }),
      })
      const one = harness({ store: counting(createMemoryStore({ data })), encryptionKey })
      const two = harness({
        store: counting(createMemoryStore({ data })),
        encryptionKey,
        instanceId: 'two',
      })
      const token = await meshWithWeb(one)
      const calls = Array.from({ length: 12 }, (_, i) =>
        postIdentity(i % 2 === 0 ? one : two, 'default', 'web-1', token)
      )
      for (const response of await Promise.all(calls)) expect(response.status).toBe(200)
      expect((await insightOf(one, 'default', 'web-1'))?.mTLS?.certificateRegenerations).toBe(12)
      expect(conflicts).toBeGreaterThan(0)
      expect(one.logged.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([])
    })
  })

  describe('overload', () => {
    it('answers 503 with the signer’s Retry-After when the signer is saturated', async () => {
      const inline = createInlineSigner()
      let saturated = false
      const signer: Signer = {
        generateKeyPair: (keyType) => inline.generateKeyPair(keyType),
        close: () => inline.close(),
        issue: (ca, requests) =>
          saturated
            ? Promise.reject(
                Object.assign(
                  new MeshcaError(
                    'SIGNER_SATURATED',
                    'the signer has 10000 requests waiting; retry in 7 s'
                  ),
                  {
                    retryAfterSeconds: 7,
                  }
                )
              )
            : inline.issue(ca, requests),
      }
      const h = harness({ signer })
      const token = await meshWithWeb(h)
      saturated = true
      const response = await postIdentity(h, 'default', 'web-1', token)
      expect(response.status).toBe(503)
      expect(response.headers.get('retry-after')).toBe('7')
      expect(await errorBody(response)).toEqual({
        title: 'Could not issue a data plane identity',
        details: 'the signer has 10000 requests waiting; retry in 7 s',
      })
      const stream = await h.request('GET', '/meshes/default/dataplanes/web-1/identity/stream', {
        token,
      })
      expect(stream.status).toBe(503)
      expect(stream.headers.get('retry-after')).toBe('7')
      expect(h.dataplaneSessions.size).toBe(0)
      saturated = false
      expect((await postIdentity(h, 'default', 'web-1', token)).status).toBe(200)
    })
  })
})
