import { describe, expect, it } from 'vitest'
import { isMeshcaError } from '../errors.ts'
import { memorySecretAccess } from '../testing/fixtures.ts'
import { fromUtf8, utf8 } from '../util/bytes.ts'
import { createTokenSigningKeys } from './signing-keys.ts'

describe('token signing keys kept as Secrets', () => {
  it('creates the key once, as a PKCS#1 RSA PEM in the named Secret, and reuses it', async () => {
    const secrets = memorySecretAccess()
    const keys = createTokenSigningKeys({ secrets, mesh: 'm', namePrefix: 'test-key-m' })
    const first = await keys.current()
    const again = await keys.current()
    expect(again).toBe(first)
    expect([...secrets.entries.keys()]).toEqual(['m/test-key-m-1'])
    const pem = fromUtf8(secrets.entries.get('m/test-key-m-1')?.data ?? new Uint8Array())
    expect(pem).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/)
    expect(first.algorithm).toBe('RS256')
  })

  it('converges on one key when two instances create it at once', async () => {
    const secrets = memorySecretAccess()
    const a = createTokenSigningKeys({ secrets, mesh: 'm', namePrefix: 'k', algorithm: 'ES256' })
    const b = createTokenSigningKeys({ secrets, mesh: 'm', namePrefix: 'k', algorithm: 'ES256' })
    const [ka, kb] = await Promise.all([a.current(), b.current()])
    const jwk = async (key: CryptoKey) => JSON.stringify(await crypto.subtle.exportKey('jwk', key))
    expect(await jwk(ka.publicKey)).toBe(await jwk(kb.publicKey))
    expect(secrets.entries.size).toBe(1)
  })

  it('finds nothing for a deleted Secret or a key id that cannot name one', async () => {
    const secrets = memorySecretAccess()
    const keys = createTokenSigningKeys({ secrets, mesh: 'm', namePrefix: 'k' })
    await keys.current()
    expect(await keys.find('../1')).toBeUndefined()
    expect(await keys.find('2')).toBeUndefined()
    secrets.entries.delete('m/k-1')
    expect(await keys.find('1')).toBeUndefined()
  })

  it('reports a Secret that holds no usable key as CORRUPTED, without its content', async () => {
    const secrets = memorySecretAccess()
    await secrets.create('m', 'k-1', utf8('not a key but secret-ish text'))
    const keys = createTokenSigningKeys({ secrets, mesh: 'm', namePrefix: 'k' })
    const error = await keys.find('1').catch((e: unknown) => e)
    expect(isMeshcaError(error, 'CORRUPTED')).toBe(true)
    expect((error as Error).message).toBe(
      'Secret "k-1" is not a usable token signing key: not a PEM private key'
    )
  })
})
