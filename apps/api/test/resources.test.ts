import { describe, expect, it } from 'vitest'
import { dataplane, trafficPermission } from './support/fixtures.ts'
import { createHarness, errorBody, json, REMOTE, withoutTimes } from './support/harness.ts'

describe('Dataplane and TrafficPermission routes', () => {
  it.each([
    ['dataplanes', dataplane('m1', 'r1', { 'kuma.io/service': 'web' })],
    ['traffic-permissions', trafficPermission('m1', 'r1', 'web', 'backend')],
  ])('/meshes/{mesh}/%s: create, read, update, list, delete', async (path, resource) => {
    const h = createHarness()
    await h.put('/meshes/m1', { type: 'Mesh', name: 'm1' })
    const created = await h.put(`/meshes/m1/${path}/r1`, resource)
    expect(created.status).toBe(201)
    expect(await created.text()).toBe('')
    expect(withoutTimes(await json(await h.get(`/meshes/m1/${path}/r1`)))).toEqual(resource)
    expect((await h.put(`/meshes/m1/${path}/r1`, resource)).status).toBe(200)
    const list = await json(await h.get(`/meshes/m1/${path}`))
    expect((list.items as { name: string }[]).map((r) => r.name)).toContain('r1')
    const across = await json(await h.get(`/${path}`))
    expect((across.items as { name: string }[]).map((r) => r.name)).toContain('r1')
    const deleted = await h.del(`/meshes/m1/${path}/r1`)
    expect(deleted.status).toBe(200)
    expect(await deleted.text()).toBe('')
    expect((await h.get(`/meshes/m1/${path}/r1`)).status).toBe(404)
    expect((await h.del(`/meshes/m1/${path}/r1`)).status).toBe(404)
  })

  it('refuses a Dataplane in a mesh that does not exist', async () => {
    const h = createHarness()
    const response = await h.put(
      '/meshes/nope/dataplanes/dp',
      dataplane('nope', 'dp', { 'kuma.io/service': 'web' })
    )
    expect(response.status).toBe(400)
    expect(await errorBody(response)).toEqual({
      title: 'Could not create a resource',
      details: 'Mesh is not found',
      causes: [{ field: 'mesh', message: 'mesh of name nope is not found' }],
    })
  })

  it('reports Kuma’s URL/body mismatch messages', async () => {
    const h = createHarness()
    await h.put('/meshes/m1', { type: 'Mesh', name: 'm1' })
    const response = await h.put('/meshes/m1/dataplanes/a', {
      ...trafficPermission('m2', 'b', 'x', 'y'),
    })
    expect(response.status).toBe(400)
    expect(await errorBody(response)).toEqual({
      title: 'Could not process a resource',
      details: 'Resource is not valid',
      causes: [
        { field: 'name', message: 'name from the URL has to be the same as in body' },
        { field: 'type', message: 'type from the URL has to be the same as in body' },
        { field: 'mesh', message: 'mesh from the URL has to be the same as in body' },
      ],
    })
    const mesh = await h.put('/meshes/a', { type: 'Mesh', name: 'b' })
    expect((await errorBody(mesh)).causes).toEqual([
      { field: 'name', message: 'name from the URL has to be the same as in body' },
    ])
  })

  it('reports spec violations of a Dataplane', async () => {
    const h = createHarness()
    await h.put('/meshes/m1', { type: 'Mesh', name: 'm1' })
    const response = await h.put('/meshes/m1/dataplanes/dp', {
      type: 'Dataplane',
      mesh: 'm1',
      name: 'dp',
      networking: { address: 7 },
    })
    expect(response.status).toBe(400)
    expect((await errorBody(response)).causes?.[0]).toEqual({
      field: 'networking.address',
      message: 'must be a string',
    })
  })

  it('lets an anonymous remote caller read but not write', async () => {
    const h = createHarness()
    await h.put('/meshes/m1', { type: 'Mesh', name: 'm1' })
    expect((await h.get('/meshes/m1', { from: REMOTE })).status).toBe(200)
    const response = await h.put(
      '/meshes/m1/traffic-permissions/tp',
      trafficPermission('m1', 'tp', 'a', 'b'),
      {
        from: REMOTE,
      }
    )
    expect(response.status).toBe(403)
    expect(await errorBody(response)).toEqual({
      title: 'Access Denied',
      details:
        'user "mesh-system:anonymous/mesh-system:unauthenticated" cannot change the resource of type "TrafficPermission": authenticate with a user token',
    })
    expect((await h.del('/meshes/m1', { from: REMOTE })).status).toBe(403)
    const token = await h.token('dev', ['team-a'])
    expect(
      (
        await h.put('/meshes/m1/traffic-permissions/tp', trafficPermission('m1', 'tp', 'a', 'b'), {
          from: REMOTE,
          token,
        })
      ).status
    ).toBe(201)
  })
})

describe('read-only insights', () => {
  it('DataplaneInsight: GET works, PUT and DELETE are 405 in plain text', async () => {
    const h = createHarness()
    await h.put('/meshes/m1', { type: 'Mesh', name: 'm1' })
    await h.core.resources.create({
      type: 'DataplaneInsight',
      mesh: 'm1',
      name: 'dp-1',
      spec: {
        subscriptions: [],
        mTLS: { issuedBackend: 'ca-1', certificateRegenerations: 2 },
        other: {},
      },
    })
    const item = await json(await h.get('/meshes/m1/dataplane-insights/dp-1'))
    expect(withoutTimes(item)).toEqual({
      type: 'DataplaneInsight',
      mesh: 'm1',
      name: 'dp-1',
      mTLS: { issuedBackend: 'ca-1', certificateRegenerations: 2 },
    })
    expect((await json(await h.get('/meshes/m1/dataplane-insights'))).total).toBe(1)
    expect((await json(await h.get('/dataplane-insights'))).total).toBe(1)
    for (const method of ['PUT', 'DELETE']) {
      const response = await h.request(method, '/meshes/m1/dataplane-insights/dp-1', {
        ...(method === 'PUT'
          ? { body: { type: 'DataplaneInsight', mesh: 'm1', name: 'dp-1' } }
          : {}),
      })
      expect(response.status).toBe(405)
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/)
      expect(await response.text()).toContain('DataplaneInsight is a read-only resource')
    }
    expect((await h.get('/meshes/m1/dataplane-insights/dp-1')).status).toBe(200)
  })

  it('MeshInsight: GET works, PUT and DELETE are 405 in plain text', async () => {
    const h = createHarness()
    await h.core.resources.create({
      type: 'MeshInsight',
      mesh: '',
      name: 'm1',
      spec: { dataplanes: { total: 1, online: 1, offline: 0, partiallyDegraded: 0 }, other: {} },
    })
    expect((await json(await h.get('/mesh-insights/m1'))).name).toBe('m1')
    expect((await json(await h.get('/mesh-insights'))).total).toBe(1)
    expect((await h.get('/mesh-insights/nope')).status).toBe(404)
    const put = await h.put('/mesh-insights/m1', { type: 'MeshInsight', name: 'm1' })
    expect(put.status).toBe(405)
    expect(await put.text()).toContain('MeshInsight is a read-only resource')
    expect((await h.del('/mesh-insights/m1')).status).toBe(405)
  })
})
