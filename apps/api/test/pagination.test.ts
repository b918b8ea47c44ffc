import { beforeAll, describe, expect, it } from 'vitest'
import { createHarness, errorBody, type Harness, json } from './support/harness.ts'

describe('pagination', () => {
  let h: Harness
  beforeAll(async () => {
    h = createHarness()
    for (let i = 0; i < 5; i++) await h.put(`/meshes/m${i}`, { type: 'Mesh', name: `m${i}` })
  })

  it('pages with size and follows next, an absolute URL, until null', async () => {
    const seen: string[] = []
    let url: string | null = 'http://localhost:5681/meshes?size=2'
    let pages = 0
    while (url !== null) {
      const body = await json(await h.get(new URL(url).pathname + new URL(url).search))
      expect(body.total).toBe(5)
      seen.push(...(body.items as { name: string }[]).map((m) => m.name))
      url = body.next as string | null
      if (url !== null) expect(url).toMatch(/^http:\/\/localhost:5681\/meshes\?size=2&offset=/)
      pages++
    }
    expect(pages).toBe(3)
    expect(seen).toEqual(['m0', 'm1', 'm2', 'm3', 'm4'])
  })

  it('defaults to 100 items', async () => {
    const body = await json(await h.get('/meshes'))
    expect((body.items as unknown[]).length).toBe(5)
    expect(body.next).toBeNull()
  })

  it('accepts 1000 and refuses 1001 with Kuma’s message', async () => {
    expect((await h.get('/meshes?size=1000')).status).toBe(200)
    const response = await h.get('/meshes?size=2000')
    expect(response.status).toBe(400)
    expect(await errorBody(response)).toEqual({
      title: 'Could not retrieve resources',
      details: 'Invalid page size',
      causes: [{ field: 'size', message: 'Invalid page size of 2000. Maximum page size is 1000' }],
    })
  })

  it.each(['abc', '-1', '1.5'])('refuses size=%s as Invalid format', async (size) => {
    const response = await h.get(`/meshes/m0/traffic-permissions?size=${size}`)
    expect(response.status).toBe(400)
    expect(await errorBody(response)).toEqual({
      title: 'Could not retrieve resources',
      details: 'Invalid page size',
      causes: [{ field: 'size', message: 'Invalid format' }],
    })
  })

  it('refuses size=0', async () => {
    expect((await errorBody(await h.get('/meshes?size=0'))).details).toBe('Invalid page size')
  })

  it.each(['/meshes', '/secrets', '/dataplanes', '/dataplanes+insights', '/mesh-insights'])(
    '%s refuses a bad offset',
    async (path) => {
      const response = await h.get(`${path}?offset=not-a-cursor`)
      expect(response.status).toBe(400)
      expect(await errorBody(response)).toEqual({
        title: 'Could not retrieve resources',
        details: 'Invalid offset',
        causes: [{ field: 'offset', message: 'Invalid format' }],
      })
    }
  )
})
