/**
 * User tokens end before they expire: an admin revokes one (by the token or its id), and every
 * instance sharing the store refuses it at its next request.
 */
import { createMemoryStore, generateEncryptionKey } from '@meshca/core-mtls'
import { describe, expect, it } from 'vitest'
import { createHarness, errorBody, json, REMOTE } from './support/harness.ts'

function idOf(token: string): string {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()).jti
}

describe('POST /tokens/user/revocations', () => {
  it('revokes a token on every instance sharing the store, at once', async () => {
    const store = createMemoryStore()
    const encryptionKey = generateEncryptionKey()
    const a = createHarness({ store, encryptionKey, localhostIsAdmin: false })
    const b = createHarness({ store, encryptionKey, localhostIsAdmin: false })
    const admin = await a.token('ops', ['mesh-system:admin'])
    const alice = await a.token('alice', ['team-a'])
    expect((await b.get('/meshes', { token: alice, from: REMOTE })).status).toBe(200)

    const revoked = await a.post('/tokens/user/revocations', { token: alice }, { token: admin })
    expect(revoked.status).toBe(200)
    expect(await json(revoked)).toEqual({ id: idOf(alice) })
    for (const h of [a, b]) {
      const refused = await h.get('/meshes', { token: alice, from: REMOTE })
      expect(refused.status).toBe(401)
    }
    expect(b.logged.some((l) => l.fields.reason === 'token is revoked')).toBe(true)
    // Others keep working; revoking again changes nothing.
    expect((await b.get('/meshes', { token: admin })).status).toBe(200)
    expect(
      (await b.post('/tokens/user/revocations', { id: idOf(alice) }, { token: admin })).status
    ).toBe(200)
    expect(await json(await b.get('/tokens/user/revocations', { token: admin }))).toEqual({
      total: 1,
      items: [{ id: idOf(alice) }],
    })
  })

  it('keeps every one of concurrent revocations', async () => {
    const h = createHarness()
    const tokens = await Promise.all(Array.from({ length: 8 }, (_, i) => h.token(`u${i}`)))
    const answers = await Promise.all(
      tokens.map((token) => h.post('/tokens/user/revocations', { token }))
    )
    expect(answers.map((r) => r.status)).toEqual(tokens.map(() => 200))
    const listed = (await json(await h.get('/tokens/user/revocations'))) as {
      items: { id: string }[]
    }
    expect(listed.items.map((i) => i.id).sort()).toEqual(tokens.map(idOf).sort())
  })

  it('is for admins only', async () => {
    const h = createHarness()
    const alice = await h.token('alice', ['team-a'])
    for (const opts of [{ token: alice, from: REMOTE }, { from: REMOTE }]) {
      const revoke = await h.post('/tokens/user/revocations', { token: alice }, opts)
      expect(revoke.status).toBe(403)
      expect((await errorBody(revoke)).details).toMatch(/ cannot revoke user tokens$/)
      expect((await h.get('/tokens/user/revocations', opts)).status).toBe(403)
    }
    expect((await h.get('/meshes', { token: alice, from: REMOTE })).status).toBe(200)
  })

  it.each([
    [{}, '', 'give either "token" or "id"'],
    [{ token: 'a.b.c', id: 'x' }, '', 'give either "token" or "id"'],
    [{ id: 'not an id' }, 'id', "must be a token id (letters, digits, '.', '_', '-'; at most 128)"],
    [{ id: 42 }, 'id', 'must be a string'],
    [{ token: 'not-a-jwt' }, 'token', 'token is malformed: expected three dot-separated parts'],
  ])('refuses %j with a 400', async (body, field, message) => {
    const h = createHarness()
    const response = await h.post('/tokens/user/revocations', body)
    expect(response.status).toBe(400)
    expect((await errorBody(response)).causes).toEqual([{ field, message }])
  })
})
