import { describe, expect, it } from 'vitest'
import { isMeshcaError } from '../errors.ts'
import { memorySecretAccess } from '../testing/fixtures.ts'
import { utf8 } from '../util/bytes.ts'
import {
  checkDataplaneToken,
  createDataplaneTokens,
  DEFAULT_DATAPLANE_TOKEN_VALIDITY_MS,
  parseDataplaneTokenRequest,
} from './dataplane-token.ts'
import { decodeJwt } from './jwt.ts'

const fixedNow = new Date('2030-06-01T12:00:00Z')

function setup(now = fixedNow) {
  const secrets = memorySecretAccess()
  const clock = { now: () => now }
  return { secrets, tokens: createDataplaneTokens({ secrets, clock }) }
}

function violationsOf(fn: () => unknown) {
  try {
    fn()
  } catch (error) {
    if (isMeshcaError(error, 'INVALID')) return error.violations
    throw error
  }
  throw new Error('expected INVALID')
}

describe('data plane token requests', () => {
  it('requires a mesh, with Kuma’s message', () => {
    expect(violationsOf(() => parseDataplaneTokenRequest({ name: 'web-1' }))).toEqual([
      { field: 'mesh', message: 'cannot be empty' },
    ])
    expect(violationsOf(() => parseDataplaneTokenRequest({ mesh: '' }))).toEqual([
      { field: 'mesh', message: 'cannot be empty' },
    ])
  })

  it('reads validFor as a Go duration, ten years by default', () => {
    expect(parseDataplaneTokenRequest({ mesh: 'default' })).toEqual({
      name: '',
      mesh: 'default',
      tags: {},
      type: 'dataplane',
      validForMs: DEFAULT_DATAPLANE_TOKEN_VALIDITY_MS,
    })
    expect(parseDataplaneTokenRequest({ mesh: 'm', validFor: '1h30m' }).validForMs).toBe(5_400_000)
    expect(violationsOf(() => parseDataplaneTokenRequest({ mesh: 'm', validFor: '1d' }))).toEqual([
      { field: 'validFor', message: 'time: unknown unit "d" in duration "1d"' },
    ])
    expect(violationsOf(() => parseDataplaneTokenRequest({ mesh: 'm', validFor: '-1h' }))).toEqual([
      { field: 'validFor', message: 'has to be a positive duration' },
    ])
  })

  it('reports every wrong field', () => {
    expect(
      violationsOf(() =>
        parseDataplaneTokenRequest({ name: 1, mesh: 'm', tags: { app: 'web' }, type: 'gateway' })
      )
    ).toEqual([
      { field: 'name', message: 'must be a string' },
      { field: 'tags["app"]', message: 'must be an array' },
      { field: 'type', message: 'has invalid value. Allowed values: dataplane, ingress, egress' },
    ])
    expect(violationsOf(() => parseDataplaneTokenRequest([]))).toEqual([
      { field: '', message: 'must be an object' },
    ])
  })
})

describe('data plane tokens', () => {
  it('carry Kuma’s claims, signed by the mesh’s key', async () => {
    const { secrets, tokens } = setup()
    const token = await tokens.issue({
      name: 'web-1',
      mesh: 'default',
      tags: { 'kuma.io/service': ['web'] },
      type: 'dataplane',
      validForMs: 3_600_000,
    })
    const { header, claims } = decodeJwt(token)
    const iat = fixedNow.getTime() / 1000
    expect(header).toEqual({ alg: 'RS256', kid: '1', typ: 'JWT' })
    expect(claims).toEqual({
      Name: 'web-1',
      Mesh: 'default',
      Tags: { 'kuma.io/service': ['web'] },
      Type: 'dataplane',
      jti: expect.stringMatching(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
      ),
      iat,
      nbf: iat - 300,
      exp: iat + 3600,
    })
    expect([...secrets.entries.keys()]).toEqual(['default/dataplane-token-signing-key-default-1'])
    const verified = await tokens.verify(token, 'default')
    expect(verified).toMatchObject({
      name: 'web-1',
      mesh: 'default',
      tags: { 'kuma.io/service': ['web'] },
      type: 'dataplane',
      expiresAt: new Date(fixedNow.getTime() + 3_600_000),
    })
  })

  it('is refused by another mesh, once revoked, once expired, or once its key is gone', async () => {
    const { secrets, tokens } = setup()
    const request = {
      name: '',
      mesh: 'a',
      tags: {},
      type: 'dataplane',
      validForMs: 60_000,
    } as const
    const token = await tokens.issue(request)
    await tokens.issue({ ...request, mesh: 'b' })
    const message = (p: Promise<unknown>) =>
      p.then(
        () => 'accepted',
        (e: unknown) => (isMeshcaError(e, 'UNAUTHENTICATED') ? e.message : String(e))
      )
    expect(await message(tokens.verify(token, 'b'))).toBe('token signature is invalid')
    expect(await message(tokens.verify(token, 'c'))).toBe(
      'there is no signing key with KID "1"; the token cannot be verified'
    )
    const later = createDataplaneTokens({
      secrets,
      clock: { now: () => new Date(fixedNow.getTime() + 61_000) },
    })
    expect(await message(later.verify(token, 'a'))).toBe('token is expired')

    const { id } = await tokens.verify(token, 'a')
    await secrets.create('a', 'dataplane-token-revocations-a', utf8(`other,${id}\n`))
    expect(await message(tokens.verify(token, 'a'))).toBe('token is revoked')

    secrets.entries.delete('a/dataplane-token-signing-key-a-1')
    expect(await message(tokens.verify(token, 'a'))).toContain('there is no signing key')
  })

  it('refuses an empty mesh', async () => {
    const { tokens } = setup()
    const error = await tokens
      .issue({ name: '', mesh: '', tags: {}, type: 'dataplane', validForMs: 1 })
      .catch((e: unknown) => e)
    expect(isMeshcaError(error, 'INVALID')).toBe(true)
  })
})

describe('checkDataplaneToken', () => {
  const proxy = {
    name: 'web-1',
    mesh: 'default',
    tags: new Map([
      ['kuma.io/service', ['web']],
      ['version', ['v1', 'v2']],
    ]),
  }
  const refusal = (claims: Parameters<typeof checkDataplaneToken>[0]) => {
    try {
      checkDataplaneToken(claims, proxy)
      return 'accepted'
    } catch (error) {
      return isMeshcaError(error, 'UNAUTHENTICATED') ? error.message : String(error)
    }
  }

  it('accepts a token naming nothing, or exactly this data plane', () => {
    expect(refusal({ name: '', mesh: '', tags: {} })).toBe('accepted')
    expect(refusal({ name: 'web-1', mesh: 'default', tags: { version: ['v1', 'v2', 'v3'] } })).toBe(
      'accepted'
    )
  })

  it('refuses with Kuma’s messages', () => {
    expect(refusal({ name: 'web-2', mesh: '', tags: {} })).toBe(
      'proxy name from requestor: web-1 is different than in token: web-2'
    )
    expect(refusal({ name: '', mesh: 'other', tags: {} })).toBe(
      'proxy mesh from requestor: default is different than in token: other'
    )
    expect(refusal({ name: '', mesh: '', tags: { team: ['a'] } })).toBe(
      'dataplane has no tag "team" required by the token'
    )
    expect(refusal({ name: '', mesh: '', tags: { version: ['v1', 'v3'] } })).toBe(
      'dataplane contains tag "version" with value "v2" which is not allowed with this token. Allowed values in token are ["v1" "v3"]'
    )
  })
})
