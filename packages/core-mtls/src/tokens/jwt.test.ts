import { createPublicKey, verify as nodeVerify } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { isMeshcaError } from '../errors.ts'
import { fromUtf8, utf8 } from '../util/bytes.ts'
import {
  base64UrlDecode,
  base64UrlEncode,
  decodeJwt,
  type JwtAlgorithm,
  signJwt,
  verifyJwt,
} from './jwt.ts'
import { generateSigningKeyPem, importSigningKey } from './signing-keys.ts'

const crypto = globalThis.crypto
const now = new Date('2030-01-01T00:00:00Z')
const seconds = now.getTime() / 1000

async function keyFor(algorithm: JwtAlgorithm) {
  const pem = await generateSigningKeyPem(crypto, algorithm)
  return { pem, key: await importSigningKey(crypto, '1', pem, 'test key') }
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    expect(isMeshcaError(error, 'UNAUTHENTICATED')).toBe(true)
    return (error as Error).message
  }
  throw new Error('expected the token to be refused')
}

describe('JWT', () => {
  it.each(['RS256', 'ES256'] as const)(
    '%s tokens verify here and with node:crypto',
    async (algorithm) => {
      const { pem, key } = await keyFor(algorithm)
      const token = await signJwt(crypto, key, { Name: 'x', exp: seconds + 60 })
      const decoded = decodeJwt(token)
      expect(decoded.header).toEqual({ alg: algorithm, kid: '1', typ: 'JWT' })
      await verifyJwt(crypto, decoded, key, now)

      // An independent verifier: node's crypto, from the stored PEM.
      const [h, c, s] = token.split('.') as [string, string, string]
      const publicKey = createPublicKey(fromUtf8(pem))
      const ok = nodeVerify(
        'sha256',
        utf8(`${h}.${c}`),
        algorithm === 'ES256' ? { key: publicKey, dsaEncoding: 'ieee-p1363' } : publicKey,
        base64UrlDecode(s) ?? new Uint8Array()
      )
      expect(ok).toBe(true)
    }
  )

  it('refuses altered claims, another key, another algorithm and none', async () => {
    const { key } = await keyFor('RS256')
    const { key: other } = await keyFor('RS256')
    const token = await signJwt(crypto, key, { Name: 'x', exp: seconds + 60 })
    const [h, , s] = token.split('.') as [string, string, string]
    const forged = `${h}.${base64UrlEncode(utf8('{"Name":"admin","exp":9999999999}'))}.${s}`
    expect(await refusal(verifyJwt(crypto, decodeJwt(forged), key, now))).toBe(
      'token signature is invalid'
    )
    expect(await refusal(verifyJwt(crypto, decodeJwt(token), other, now))).toBe(
      'token signature is invalid'
    )
    const none = `${base64UrlEncode(utf8('{"alg":"none","kid":"1"}'))}.${token.split('.')[1]}.`
    expect(await refusal(verifyJwt(crypto, decodeJwt(none), key, now))).toBe(
      'token is signed with "none", expected RS256'
    )
  })

  it('checks exp and nbf', async () => {
    const { key } = await keyFor('ES256')
    const expired = await signJwt(crypto, key, { exp: seconds })
    expect(await refusal(verifyJwt(crypto, decodeJwt(expired), key, now))).toBe('token is expired')
    const early = await signJwt(crypto, key, { exp: seconds + 60, nbf: seconds + 30 })
    expect(await refusal(verifyJwt(crypto, decodeJwt(early), key, now))).toBe(
      'token is not valid yet'
    )
    const endless = await signJwt(crypto, key, { Name: 'x' })
    expect(await refusal(verifyJwt(crypto, decodeJwt(endless), key, now))).toBe(
      'token has no expiration time'
    )
  })

  it.each([
    ['', 'token is malformed: expected three dot-separated parts'],
    ['a.b', 'token is malformed: expected three dot-separated parts'],
    ['!!.e30.', 'token is malformed: the header is not base64url'],
    [`${base64UrlEncode(utf8('[1]'))}.e30.`, 'token is malformed: the header is not a JSON object'],
    [`${base64UrlEncode(utf8('{}'))}.e30.`, 'token is malformed: the header has no algorithm'],
    ['e30.bm90IGpzb24.', 'token is malformed: the claims is not JSON'],
    ['x'.repeat(20_000), 'token is malformed: too long'],
  ])('refuses the malformed token %#', async (token, message) => {
    expect(await refusal(Promise.resolve().then(() => decodeJwt(token)))).toBe(message)
  })
})
