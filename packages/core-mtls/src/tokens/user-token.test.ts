import { describe, expect, it } from 'vitest'
import { isMeshcaError } from '../errors.ts'
import { memorySecretAccess } from '../testing/fixtures.ts'
import { decodeJwt } from './jwt.ts'
import { createUserTokens, parseUserTokenRequest } from './user-token.ts'

describe('user tokens', () => {
  it('read requests with required name and validFor', () => {
    expect(parseUserTokenRequest({ name: 'alice', groups: ['team-a'], validFor: '24h' })).toEqual({
      name: 'alice',
      groups: ['team-a'],
      validForMs: 86_400_000,
    })
    let error: unknown
    try {
      parseUserTokenRequest({ groups: 'admins' })
    } catch (e) {
      error = e
    }
    expect(isMeshcaError(error, 'INVALID') && error.violations).toEqual([
      { field: 'name', message: 'cannot be empty' },
      { field: 'groups', message: 'must be an array' },
      { field: 'validFor', message: 'cannot be empty' },
    ])
  })

  it('carry Name and Groups, and verify until revoked', async () => {
    const secrets = memorySecretAccess()
    const tokens = createUserTokens({ secrets, mesh: 'system', algorithm: 'ES256' })
    const token = await tokens.issue({ name: 'alice', groups: ['team-a'], validForMs: 60_000 })
    expect(decodeJwt(token).claims).toMatchObject({ Name: 'alice', Groups: ['team-a'] })
    expect([...secrets.entries.keys()]).toEqual(['system/user-token-signing-key-1'])
    const user = await tokens.verify(token)
    expect(user).toMatchObject({ name: 'alice', groups: ['team-a'] })

    await secrets.create('system', 'user-token-revocations', new TextEncoder().encode(user.id))
    const error = await tokens.verify(token).catch((e: unknown) => e)
    expect(isMeshcaError(error, 'UNAUTHENTICATED') && error.message).toBe('token is revoked')
  })

  it('are not data plane tokens of the same location', async () => {
    const secrets = memorySecretAccess()
    const tokens = createUserTokens({ secrets, mesh: 'system' })
    const other = createUserTokens({ secrets: memorySecretAccess(), mesh: 'system' })
    const token = await other.issue({ name: 'mallory', groups: [], validForMs: 60_000 })
    await tokens.issue({ name: 'alice', groups: [], validForMs: 60_000 })
    const error = await tokens.verify(token).catch((e: unknown) => e)
    expect(isMeshcaError(error, 'UNAUTHENTICATED') && error.message).toBe(
      'token signature is invalid'
    )
  })
})
