import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '@meshca/core-mtls'
import { afterEach, describe, expect, it } from 'vitest'
import { ensureAdminToken } from '../src/admin-token.ts'
import { isLoopback } from '../src/middleware/authenticate.ts'
import { createHarness, errorBody, json, REMOTE, secretBody } from './support/harness.ts'

describe('authentication', () => {
  it('treats loopback callers as admins by default', async () => {
    const h = createHarness()
    for (const from of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
      expect((await h.get('/secrets', { from })).status).toBe(200)
    }
    expect((await h.get('/secrets', { from: REMOTE })).status).toBe(403)
    expect(isLoopback('127.0.0.2')).toBe(false)
    expect(isLoopback(undefined)).toBe(false)
  })

  it('does not when localhostIsAdmin is off', async () => {
    const h = createHarness({ localhostIsAdmin: false })
    const response = await h.get('/secrets')
    expect(response.status).toBe(403)
    expect((await errorBody(response)).details).toContain('mesh-system:anonymous')
    const admin = await h.token('ops', ['mesh-system:admin'])
    expect((await h.get('/secrets', { token: admin })).status).toBe(200)
  })

  it.each([
    ['a malformed token', 'Bearer nonsense'],
    ['another scheme', 'Basic YWRtaW46YWRtaW4='],
    ['an empty bearer', 'Bearer '],
  ])('answers 401 to %s, even from localhost', async (_case, authorization) => {
    const h = createHarness()
    const response = await h.get('/meshes', { headers: { authorization } })
    expect(response.status).toBe(401)
    expect(await errorBody(response)).toEqual({
      title: 'Invalid authentication data',
      details: 'Unauthenticated',
    })
  })

  it('answers 401 to a token signed by another control plane, or expired', async () => {
    const h = createHarness()
    const other = createHarness()
    const foreign = await other.token('mallory', ['mesh-system:admin'])
    await h.token('someone') // this control plane's key exists
    expect((await h.get('/meshes', { token: foreign })).status).toBe(401)
    const expired = await h.userTokens.issue({ name: 'x', groups: [], validForMs: 1 })
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const response = await h.get('/meshes', { token: expired })
    expect(response.status).toBe(401)
    expect(
      h.logged.some(
        (l) => l.message === 'user token refused' && l.fields.reason === 'token is expired'
      )
    ).toBe(true)
  })

  it('POST /tokens/user: admins mint tokens that then authenticate', async () => {
    const h = createHarness({ localhostIsAdmin: false })
    const bootstrap = await h.token('mesh-system:admin', ['mesh-system:admin'])
    const minted = await h.post(
      '/tokens/user',
      { name: 'bob', groups: ['dev'], validFor: '1h' },
      { token: bootstrap }
    )
    expect(minted.status).toBe(200)
    expect(minted.headers.get('content-type')).toMatch(/^text\/plain/)
    const token = await minted.text()
    expect(token.split('.')).toHaveLength(3)
    const denied = await h.get('/secrets', { token })
    expect((await errorBody(denied)).details).toBe(
      'user "bob/dev" cannot access the resource of type "Secret"'
    )
    expect((await h.put('/meshes/m1', { type: 'Mesh', name: 'm1' }, { token })).status).toBe(201)

    const notAdmin = await h.post('/tokens/user', { name: 'eve', validFor: '1h' }, { token })
    expect(notAdmin.status).toBe(403)
    expect(await errorBody(notAdmin)).toEqual({
      title: 'Access Denied',
      details: 'user "bob/dev" cannot generate user tokens',
    })
    const invalid = await h.post('/tokens/user', { groups: ['x'] }, { token: bootstrap })
    expect(await errorBody(invalid)).toEqual({
      title: 'Could not issue a token',
      details: 'Resource is not valid',
      causes: [
        { field: 'name', message: 'cannot be empty' },
        { field: 'validFor', message: 'cannot be empty' },
      ],
    })
  })

  it('does not let a data plane token act as a user token', async () => {
    const h = createHarness()
    await h.put('/meshes/m1', { type: 'Mesh', name: 'm1' })
    const dpToken = await (await h.post('/tokens/dataplane', { mesh: 'm1' })).text()
    expect((await h.get('/meshes', { token: dpToken })).status).toBe(401)
  })
})

describe('the bootstrap admin token', () => {
  let dir: string | undefined
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('is written with mode 0600, authenticates as admin, and is kept while valid', async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshca-admin-token-'))
    const h = createHarness({ localhostIsAdmin: false })
    const path = await ensureAdminToken(dir, h.userTokens, silentLogger)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    const token = readFileSync(path, 'utf8').trim()
    const response = await h.put('/meshes/m1/secrets/s', secretBody('m1', 's', 'x'), {
      token,
      from: REMOTE,
    })
    expect((await errorBody(response)).details).toBe('Mesh is not found') // authorized, then refused by the core
    await ensureAdminToken(dir, h.userTokens, silentLogger)
    expect(readFileSync(path, 'utf8').trim()).toBe(token)

    writeFileSync(path, 'garbage\n')
    await ensureAdminToken(dir, h.userTokens, silentLogger)
    const renewed = readFileSync(path, 'utf8').trim()
    expect(renewed).not.toBe('garbage')
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect((await json(await h.get('/meshes', { token: renewed }))).total).toBe(0)
  })
})
