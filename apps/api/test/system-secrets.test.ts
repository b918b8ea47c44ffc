/**
 * Secrets the control plane reads by name are checked when an admin writes them, so that no write
 * through the API can turn a mesh into a generator of 500s: the data plane token signing key, the
 * revocation list, and a builtin CA's certificate and key.
 */
import { generateKeyPairSync } from 'node:crypto'
import { postIdentity } from '@meshca/test-support/dataplanes'
import { selfSignedCa } from '@meshca/test-support/openssl'
import { describe, expect, it } from 'vitest'
import { builtinMesh, putOk, registered } from './support/dataplane-setup.ts'
import { createHarness, errorBody, type Harness, secretBody } from './support/harness.ts'

const WEB = { 'kuma.io/service': ['web'] }

async function refused(h: Harness, mesh: string, name: string, data: string): Promise<string> {
  const response = await h.put(`/meshes/${mesh}/secrets/${name}`, secretBody(mesh, name, data))
  expect(response.status, name).toBe(400)
  const causes = (await errorBody(response)).causes ?? []
  expect(causes.map((c) => c.field)).toEqual(['data'])
  return causes[0]?.message ?? ''
}

function pkcs8(type: 'rsa' | 'ec', bits = 2048): string {
  const { privateKey } =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: bits })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
}

/** A mesh with mTLS on and a registered data plane, whose token and identity work. */
async function workingMesh(h: Harness): Promise<string> {
  await putOk(h, '/meshes/m', builtinMesh('m'))
  await registered(h, 'm', 'web-1', 'web')
  const token = await (
    await h.post('/tokens/dataplane', { name: 'web-1', mesh: 'm', tags: WEB })
  ).text()
  expect((await postIdentity(h, 'm', 'web-1', token)).status).toBe(200)
  return token
}

describe('system Secrets written through the API', () => {
  it('refuses a data plane token signing key that cannot sign, and the mesh keeps working', async () => {
    const h = createHarness()
    const token = await workingMesh(h)
    const name = 'dataplane-token-signing-key-m-1'
    expect(await refused(h, 'm', name, 'garbage')).toBe(
      `Secret "${name}" is not a usable token signing key: not a PEM private key`
    )
    expect(await refused(h, 'm', name, pkcs8('rsa', 1024))).toBe(
      'RSA key of 1024 bits is too weak; at least 2048 bits are required'
    )
    expect(
      await refused(h, 'm', 'dataplane-token-signing-key-m-2', pkcs8('ec').replace('A', 'B'))
    ).toMatch(/is not a usable token signing key/)
    const issued = await h.post('/tokens/dataplane', { name: 'web-1', mesh: 'm', tags: WEB })
    expect(issued.status).toBe(200)
    expect((await postIdentity(h, 'm', 'web-1', token)).status).toBe(200)
    expect((await postIdentity(h, 'm', 'web-1', await issued.text())).status).toBe(200)
  })

  it('accepts a usable signing key, which then signs the tokens', async () => {
    const h = createHarness()
    await workingMesh(h)
    const name = 'dataplane-token-signing-key-m-1'
    const put = await h.put(`/meshes/m/secrets/${name}`, secretBody('m', name, pkcs8('ec')))
    expect(put.status).toBe(200)
    const token = await (
      await h.post('/tokens/dataplane', { name: 'web-1', mesh: 'm', tags: WEB })
    ).text()
    expect(JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()).alg).toBe(
      'ES256'
    )
    expect((await postIdentity(h, 'm', 'web-1', token)).status).toBe(200)
  })

  it('takes a revocation list of token ids only, and it revokes them', async () => {
    const h = createHarness()
    const token = await workingMesh(h)
    const name = 'dataplane-token-revocations-m'
    expect(await refused(h, 'm', name, 'ok-id,{"not":"an id"}')).toMatch(/entry 2 is not one$/)
    expect(
      await refused(h, 'm', name, Array.from({ length: 10_001 }, (_, i) => `id${i}`).join(','))
    ).toMatch(/^a revocation list holds at most 10000 token ids, not 10001/)
    const jti = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()).jti
    expect(
      (await h.put(`/meshes/m/secrets/${name}`, secretBody('m', name, `other, ${jti}\n`))).status
    ).toBe(201)
    expect((await postIdentity(h, 'm', 'web-1', token)).status).toBe(401)
  })

  it('refuses every write of a builtin CA half: such names are for the control plane', async () => {
    const h = createHarness()
    const token = await workingMesh(h)
    const own = selfSignedCa('own', [
      'basicConstraints=critical,CA:TRUE',
      'keyUsage=critical,keyCertSign',
    ])
    for (const [name, data] of [
      ['m.ca-builtin-cert-ca-1', own.certPem],
      ['m.ca-builtin-key-ca-1', own.keyPem],
      ['m.ca-builtin-key-ca-9', own.keyPem],
    ] as const) {
      const response = await h.put(`/meshes/m/secrets/${name}`, secretBody('m', name, data))
      expect(response.status).toBe(400)
      expect((await errorBody(response)).causes?.map((c) => c.field)).toEqual(['name'])
    }
    expect((await postIdentity(h, 'm', 'web-1', token)).status).toBe(200)
  })
})
