import { describe, expect, it } from 'vitest'
import { SYSTEM_SECRETS_MESH } from '../src/system-secrets.ts'
import {
  createHarness,
  errorBody,
  json,
  REMOTE,
  secretBody,
  withoutTimes,
} from './support/harness.ts'

describe('Secret routes', () => {
  it('PUT creates (201) and updates (200); GET returns the data to admins', async () => {
    const h = createHarness()
    await h.put('/meshes/m1', { type: 'Mesh', name: 'm1' })
    const body = secretBody('m1', 'sec-1', 'hello')
    const created = await h.put('/meshes/m1/secrets/sec-1', body)
    expect(created.status).toBe(201)
    expect(await created.text()).toBe('')
    expect(withoutTimes(await json(await h.get('/meshes/m1/secrets/sec-1')))).toEqual(body)
    const updated = await h.put('/meshes/m1/secrets/sec-1', secretBody('m1', 'sec-1', 'bye'))
    expect(updated.status).toBe(200)
    expect((await json(await h.get('/meshes/m1/secrets/sec-1'))).data).toBe(
      Buffer.from('bye').toString('base64')
    )
  })

  it('stores Secrets encrypted', async () => {
    const h = createHarness()
    await h.put('/meshes/m1', { type: 'Mesh', name: 'm1' })
    await h.put('/meshes/m1/secrets/sec-1', secretBody('m1', 'sec-1', 'plain text'))
    const row = await h.store.get({ type: 'Secret', mesh: 'm1', name: 'sec-1' })
    expect(JSON.stringify(row?.spec)).not.toContain(Buffer.from('plain text').toString('base64'))
  })

  it('refuses writes in a mesh that does not exist (decision 15 of docs/decisions.md)', async () => {
    const h = createHarness()
    const response = await h.put('/meshes/nope/secrets/sec-1', secretBody('nope', 'sec-1', 'x'))
    expect(response.status).toBe(400)
    expect(await errorBody(response)).toEqual({
      title: 'Could not create a resource',
      details: 'Mesh is not found',
      causes: [{ field: 'mesh', message: 'mesh of name nope is not found' }],
    })
  })

  it('refuses empty data and the builtin names, which contain dots', async () => {
    const h = createHarness()
    await h.put('/meshes/m1', { type: 'Mesh', name: 'm1' })
    const empty = await h.put('/meshes/m1/secrets/s', {
      type: 'Secret',
      mesh: 'm1',
      name: 's',
      data: '',
    })
    expect((await errorBody(empty)).causes).toEqual([{ field: 'data', message: 'cannot be empty' }])
    const dotted = await h.put(
      '/meshes/m1/secrets/m1.ca-builtin-cert-x',
      secretBody('m1', 'm1.ca-builtin-cert-x', 'x')
    )
    expect(dotted.status).toBe(400)
    expect((await errorBody(dotted)).causes).toEqual([
      {
        field: 'name',
        message:
          "invalid characters. Valid characters are numbers, lowercase latin letters and '-', '_' symbols.",
      },
    ])
  })

  it('DELETE answers 200, then 404', async () => {
    const h = createHarness()
    await h.put('/meshes/m1', { type: 'Mesh', name: 'm1' })
    await h.put('/meshes/m1/secrets/sec-1', secretBody('m1', 'sec-1', 'x'))
    expect((await h.del('/meshes/m1/secrets/sec-1')).status).toBe(200)
    const again = await h.del('/meshes/m1/secrets/sec-1')
    expect(again.status).toBe(404)
    expect(await errorBody(again)).toEqual({
      title: 'Could not delete a resource',
      details: 'Not found',
    })
    expect((await h.get('/meshes/m1/secrets/sec-1')).status).toBe(404)
  })

  it('lists per mesh and across meshes, without the control plane’s own secrets', async () => {
    const h = createHarness()
    for (const mesh of ['a', 'b']) {
      await h.put(`/meshes/${mesh}`, { type: 'Mesh', name: mesh })
      await h.put(`/meshes/${mesh}/secrets/s1`, secretBody(mesh, 's1', 'x'))
      await h.put(`/meshes/${mesh}/secrets/s2`, secretBody(mesh, 's2', 'y'))
    }
    // Minting a user token stores its signing key in the system location.
    await h.token('someone')
    expect((await h.core.secrets.list({ mesh: SYSTEM_SECRETS_MESH })).total).toBe(1)

    const inA = await json(await h.get('/meshes/a/secrets'))
    expect(inA.total).toBe(2)
    const all = await json(await h.get('/secrets'))
    expect(all.total).toBe(4)
    expect(
      (all.items as { mesh: string; name: string }[]).map((s) => `${s.mesh}/${s.name}`)
    ).toEqual(['a/s1', 'a/s2', 'b/s1', 'b/s2'])
    const page = await json(await h.get('/secrets?size=3'))
    expect((page.items as unknown[]).length).toBeLessThanOrEqual(3)
    expect(page.total).toBe(4)
    expect((await json(await h.get(`/meshes/${SYSTEM_SECRETS_MESH}/secrets`))).total).toBe(0)
    expect(
      (await h.get(`/meshes/${SYSTEM_SECRETS_MESH}/secrets/user-token-signing-key-1`)).status
    ).toBe(404)
    expect(
      (await h.del(`/meshes/${SYSTEM_SECRETS_MESH}/secrets/user-token-signing-key-1`)).status
    ).toBe(404)
  })

  it('checks the URL against the body', async () => {
    const h = createHarness()
    await h.put('/meshes/m1', { type: 'Mesh', name: 'm1' })
    const response = await h.put('/meshes/m1/secrets/s1', {
      type: 'Secret',
      mesh: 'm2',
      name: 's2',
      data: 'eA==',
    })
    expect(await errorBody(response)).toEqual({
      title: 'Could not process a resource',
      details: 'Resource is not valid',
      causes: [
        { field: 'name', message: 'name from the URL has to be the same as in body' },
        { field: 'mesh', message: 'mesh from the URL has to be the same as in body' },
      ],
    })
  })

  describe('admin only, for every verb', () => {
    const calls = [
      ['GET', '/secrets'],
      ['GET', '/meshes/m1/secrets'],
      ['GET', '/meshes/m1/secrets/s1'],
      ['PUT', '/meshes/m1/secrets/s1'],
      ['DELETE', '/meshes/m1/secrets/s1'],
    ] as const

    it.each(calls)('%s %s: 403 for a user token without the admin group', async (method, path) => {
      const h = createHarness()
      await h.put('/meshes/m1', { type: 'Mesh', name: 'm1' })
      await h.put('/meshes/m1/secrets/s1', secretBody('m1', 's1', 'x'))
      const token = await h.token('alice', ['team-a'])
      const response = await h.request(method, path, {
        token,
        ...(method === 'PUT' ? { body: secretBody('m1', 's1', 'y') } : {}),
      })
      expect(response.status).toBe(403)
      expect(await errorBody(response)).toMatchObject({
        title: 'Access Denied',
        details: 'user "alice/team-a" cannot access the resource of type "Secret"',
      })
      // Nothing changed.
      expect((await json(await h.get('/meshes/m1/secrets/s1'))).data).toBe('eA==')
    })

    it.each(calls)('%s %s: 403 for an anonymous remote caller', async (method, path) => {
      const h = createHarness()
      const response = await h.request(method, path, {
        from: REMOTE,
        ...(method === 'PUT' ? { body: secretBody('m1', 's1', 'y') } : {}),
      })
      expect(response.status).toBe(403)
      expect((await errorBody(response)).details).toBe(
        'user "mesh-system:anonymous/mesh-system:unauthenticated" cannot access the resource of type "Secret"'
      )
    })

    it.each(calls)('%s %s: 401 for a bad token', async (method, path) => {
      const h = createHarness()
      const response = await h.request(method, path, { token: 'not.a.token' })
      expect(response.status).toBe(401)
      expect(await errorBody(response)).toEqual({
        title: 'Invalid authentication data',
        details: 'Unauthenticated',
      })
    })

    it('works for a remote admin token', async () => {
      const h = createHarness()
      await h.put('/meshes/m1', { type: 'Mesh', name: 'm1' })
      const token = await h.token('ops', ['mesh-system:admin'])
      const response = await h.put('/meshes/m1/secrets/s1', secretBody('m1', 's1', 'x'), {
        from: REMOTE,
        token,
      })
      expect(response.status).toBe(201)
    })
  })
})
