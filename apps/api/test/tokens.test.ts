import { checkDataplaneToken, decodeJwt } from '@meshca/core-mtls'
import { describe, expect, it } from 'vitest'
import { createHarness, errorBody } from './support/harness.ts'

describe('POST /tokens/dataplane', () => {
  it('answers a text/plain RS256 JWT with Kuma’s claims', async () => {
    const h = createHarness()
    await h.put('/meshes/default', { type: 'Mesh', name: 'default' })
    const response = await h.post('/tokens/dataplane', {
      name: 'web-1',
      mesh: 'default',
      tags: { 'kuma.io/service': ['web'] },
      validFor: '24h',
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/)
    const token = await response.text()
    const { header, claims } = decodeJwt(token)
    expect(header).toEqual({ alg: 'RS256', kid: '1', typ: 'JWT' })
    expect(claims).toMatchObject({
      Name: 'web-1',
      Mesh: 'default',
      Tags: { 'kuma.io/service': ['web'] },
      Type: 'dataplane',
    })
    expect((claims.exp as number) - (claims.iat as number)).toBe(86_400)
    expect((claims.iat as number) - (claims.nbf as number)).toBe(300)
    const verified = await h.dataplaneTokens.verify(token, 'default')
    checkDataplaneToken(verified, {
      name: 'web-1',
      mesh: 'default',
      tags: new Map([['kuma.io/service', ['web']]]),
    })
    // The signing key is a Secret of the mesh, visible to admins as in Kuma.
    const secrets = await h.core.secrets.list({ mesh: 'default' })
    expect(secrets.items.map((s) => s.name)).toEqual(['dataplane-token-signing-key-default-1'])
  })

  it('defaults validFor to ten years', async () => {
    const h = createHarness()
    await h.put('/meshes/m1', { type: 'Mesh', name: 'm1' })
    const { claims } = decodeJwt(await (await h.post('/tokens/dataplane', { mesh: 'm1' })).text())
    expect((claims.exp as number) - (claims.iat as number)).toBe(10 * 365 * 86_400)
  })

  it('requires the mesh, with Kuma’s message', async () => {
    const h = createHarness()
    const response = await h.post('/tokens/dataplane', { name: 'web-1' })
    expect(response.status).toBe(400)
    expect(await errorBody(response)).toEqual({
      title: 'Could not issue a token',
      details: 'Resource is not valid',
      causes: [{ field: 'mesh', message: 'cannot be empty' }],
    })
  })

  it('refuses a mesh that does not exist and a bad validFor', async () => {
    const h = createHarness()
    expect(await errorBody(await h.post('/tokens/dataplane', { mesh: 'nope' }))).toEqual({
      title: 'Could not issue a token',
      details: 'Mesh is not found',
      causes: [{ field: 'mesh', message: 'mesh of name nope is not found' }],
    })
    await h.put('/meshes/m1', { type: 'Mesh', name: 'm1' })
    expect(
      (await errorBody(await h.post('/tokens/dataplane', { mesh: 'm1', validFor: '10y' }))).causes
    ).toEqual([{ field: 'validFor', message: 'time: unknown unit "y" in duration "10y"' }])
  })

  it('is for admins only', async () => {
    const h = createHarness()
    await h.put('/meshes/m1', { type: 'Mesh', name: 'm1' })
    const token = await h.token('dev', ['team'])
    const response = await h.post('/tokens/dataplane', { mesh: 'm1' }, { token })
    expect(response.status).toBe(403)
    expect(await errorBody(response)).toEqual({
      title: 'Access Denied',
      details: 'user "dev/team" cannot generate dataplane tokens',
    })
  })
})
