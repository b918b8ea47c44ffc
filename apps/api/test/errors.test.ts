import { createMemoryStore, ERROR_CODES, MeshcaError, type Store } from '@meshca/core-mtls'
import { describe, expect, it } from 'vitest'
import { MAX_WRITE_ATTEMPTS } from '../src/http/retry.ts'
import { ERROR_MAPPINGS } from '../src/middleware/error-handler.ts'
import { createHarness, errorBody, json, secretBody } from './support/harness.ts'

/** A memory store whose updates (or creates) lose `times` races before behaving. */
function racingStore(
  times: number,
  what: 'update' | 'create'
): Store & { readonly attempts: () => number } {
  const inner = createMemoryStore()
  let attempts = 0
  return {
    ...inner,
    async update(key, spec, version) {
      if (what === 'update' && key.type !== 'TrafficPermission' && attempts++ < times) {
        throw new MeshcaError(
          'CONFLICT',
          `Resource conflict: type="${key.type}" name="${key.name}"`
        )
      }
      return inner.update(key, spec, version)
    },
    async create(key, spec) {
      if (what === 'create' && key.type === 'Secret' && attempts++ < times) {
        await inner.create(key, spec)
        throw new MeshcaError('ALREADY_EXISTS', 'Resource already exists')
      }
      return inner.create(key, spec)
    },
    attempts: () => attempts,
  }
}

describe('error mapping', () => {
  it('maps every error code to a status', () => {
    for (const code of ERROR_CODES) expect(ERROR_MAPPINGS[code].status).toBeGreaterThanOrEqual(400)
  })

  it('retries a PUT that lost a race and succeeds', async () => {
    const store = racingStore(2, 'update')
    const h = createHarness({ store })
    await h.put('/meshes/m1', { type: 'Mesh', name: 'm1' })
    const response = await h.put('/meshes/m1', { type: 'Mesh', name: 'm1', logging: {} })
    expect(response.status).toBe(200)
    expect(store.attempts()).toBe(3)
  })

  it('answers 409 with the error body when the race persists, never 500', async () => {
    const store = racingStore(100, 'update')
    const h = createHarness({ store })
    await h.put('/meshes/m1', { type: 'Mesh', name: 'm1' })
    const response = await h.put('/meshes/m1', { type: 'Mesh', name: 'm1', logging: {} })
    expect(response.status).toBe(409)
    expect(await errorBody(response)).toEqual({
      title: 'Could not update a resource',
      details: 'Resource conflict',
    })
    expect(store.attempts()).toBe(MAX_WRITE_ATTEMPTS)
  })

  it('turns a lost create race into an update', async () => {
    const store = racingStore(1, 'create')
    const h = createHarness({ store })
    await h.put('/meshes/m1', { type: 'Mesh', name: 'm1' })
    const response = await h.put('/meshes/m1/secrets/s1', secretBody('m1', 's1', 'mine'))
    expect(response.status).toBe(200)
    expect((await json(await h.get('/meshes/m1/secrets/s1'))).data).toBe(
      Buffer.from('mine').toString('base64')
    )
  })

  it('logs an unexpected error and answers 500 Internal Server Error without its message', async () => {
    const inner = createMemoryStore()
    const store: Store = {
      ...inner,
      list: async () => {
        throw new TypeError('secret detail of a bug')
      },
    }
    const h = createHarness({ store })
    const response = await h.get('/meshes')
    expect(response.status).toBe(500)
    expect(await errorBody(response)).toEqual({
      title: 'Could not retrieve resources',
      details: 'Internal Server Error',
    })
    expect(
      h.logged.some((l) => l.level === 'error' && String(l.fields.error).includes('secret detail'))
    ).toBe(true)
  })

  it('answers 503 with Retry-After when the store is unavailable', async () => {
    const inner = createMemoryStore()
    const store: Store = {
      ...inner,
      get: async () => {
        throw new MeshcaError('STORE_UNAVAILABLE', 'the store is closed')
      },
    }
    const h = createHarness({ store })
    const response = await h.get('/meshes/m1')
    expect(response.status).toBe(503)
    expect(response.headers.get('retry-after')).toBe('5')
    expect(await errorBody(response)).toEqual({
      title: 'Could not retrieve a resource',
      details: 'the store is closed',
    })
  })
})
