import { beforeAll, describe, expect, it } from 'vitest'
import { dataplane } from './support/fixtures.ts'
import { createHarness, errorBody, type Harness, json } from './support/harness.ts'

describe('dataplanes+insights', () => {
  let h: Harness
  beforeAll(async () => {
    h = createHarness()
    for (const mesh of ['m1', 'm2']) await h.put(`/meshes/${mesh}`, { type: 'Mesh', name: mesh })
    const put = (body: ReturnType<typeof dataplane>) =>
      h.put(`/meshes/${body.mesh}/dataplanes/${body.name}`, body)
    await put(dataplane('m1', 'web-1', { 'kuma.io/service': 'web', version: 'v1' }))
    await put(dataplane('m1', 'web-2', { 'kuma.io/service': 'web', version: 'v2' }))
    await put(dataplane('m1', 'edge', { 'kuma.io/service': 'edge' }, { gateway: 'DELEGATED' }))
    await put(dataplane('m1', 'gw', { 'kuma.io/service': 'gw' }, { gateway: 'BUILTIN' }))
    await put(dataplane('m2', 'api-1', { 'kuma.io/service': 'api' }))
    await h.core.resources.create({
      type: 'DataplaneInsight',
      mesh: 'm1',
      name: 'web-1',
      spec: {
        subscriptions: [{ id: 's', connectTime: '2030-01-01T00:00:00Z' }],
        mTLS: { issuedBackend: 'ca-1', supportedBackends: ['ca-1'], certificateRegenerations: 3 },
        other: {},
      },
    })
  })

  const names = async (path: string) => {
    const body = await json(await h.get(path))
    return { total: body.total, names: (body.items as { name: string }[]).map((i) => i.name) }
  }

  it('joins each Dataplane with its insight', async () => {
    const item = await json(await h.get('/meshes/m1/dataplanes+insights/web-1'))
    expect(item).toMatchObject({
      type: 'DataplaneOverview',
      mesh: 'm1',
      name: 'web-1',
      dataplane: { networking: { address: '10.0.0.1' } },
      dataplaneInsight: { mTLS: { issuedBackend: 'ca-1', certificateRegenerations: 3 } },
    })
    expect(item.creationTime).toEqual(expect.any(String))
    const bare = await json(await h.get('/meshes/m1/dataplanes+insights/web-2'))
    expect(bare.dataplaneInsight).toEqual({})
    const missing = await h.get('/meshes/m1/dataplanes+insights/nope')
    expect(missing.status).toBe(404)
    expect(await errorBody(missing)).toEqual({
      title: 'Could not retrieve a resource',
      details: 'Not found',
    })
  })

  it('lists per mesh and across meshes', async () => {
    expect(await names('/meshes/m1/dataplanes+insights')).toEqual({
      total: 4,
      names: ['edge', 'gw', 'web-1', 'web-2'],
    })
    expect((await names('/dataplanes+insights')).total).toBe(5)
  })

  it('filters by tag (fuzzy, repeatable), gateway and name before paginating', async () => {
    expect(await names('/meshes/m1/dataplanes+insights?tag=kuma.io/service:we')).toEqual({
      total: 2,
      names: ['web-1', 'web-2'],
    })
    expect(
      (await names('/meshes/m1/dataplanes+insights?tag=kuma.io/service:web&tag=version:v2')).names
    ).toEqual(['web-2'])
    expect((await names('/meshes/m1/dataplanes+insights?gateway=true')).names).toEqual([
      'edge',
      'gw',
    ])
    expect((await names('/meshes/m1/dataplanes+insights?gateway=false')).names).toEqual([
      'web-1',
      'web-2',
    ])
    expect((await names('/meshes/m1/dataplanes+insights?gateway=builtin')).names).toEqual(['gw'])
    expect((await names('/meshes/m1/dataplanes+insights?gateway=delegated')).names).toEqual([
      'edge',
    ])
    // Sorted by (mesh, name).
    expect((await names('/dataplanes+insights?name=-1')).names).toEqual(['web-1', 'api-1'])
    const page = await json(
      await h.get('/meshes/m1/dataplanes+insights?size=1&tag=kuma.io/service:web')
    )
    expect(page.total).toBe(2)
    expect(page.next).toBe(
      'http://localhost:5681/meshes/m1/dataplanes+insights?size=1&tag=kuma.io%2Fservice%3Aweb&offset=1'
    )
  })

  it('refuses an unknown gateway value with Kuma’s message', async () => {
    const response = await h.get('/meshes/m1/dataplanes+insights?gateway=maybe')
    expect(response.status).toBe(400)
    expect((await errorBody(response)).causes).toEqual([
      {
        field: 'gateway',
        message: "shoud use `true`, `false`, 'builtin' or 'delegated' instead of maybe",
      },
    ])
  })
})
