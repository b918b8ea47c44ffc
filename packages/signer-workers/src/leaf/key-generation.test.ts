import { createPrivateKey, createPublicKey } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { WIRE_KEY_TYPES } from '../wire/protocol.ts'
import { generateKeyPairDer } from './key-generation.ts'

describe('key generation', () => {
  // EC and Ed25519 DER is written by hand for speed: it must be byte for byte what OpenSSL writes.
  it.each(['ECDSA_P256', 'ECDSA_P384', 'ED25519'] as const)(
    'writes %s keys exactly as OpenSSL',
    (keyType) => {
      for (let i = 0; i < 200; i++) {
        const { spki, pkcs8 } = generateKeyPairDer(keyType)
        const privateKey = createPrivateKey({
          key: Buffer.from(pkcs8),
          format: 'der',
          type: 'pkcs8',
        })
        expect(privateKey.export({ type: 'pkcs8', format: 'der' }).equals(Buffer.from(pkcs8))).toBe(
          true
        )
        expect(
          createPublicKey(privateKey)
            .export({ type: 'spki', format: 'der' })
            .equals(Buffer.from(spki))
        ).toBe(true)
      }
    }
  )

  it('makes RSA keys of the requested size with exponent 65537', () => {
    const { spki } = generateKeyPairDer('RSA_2048')
    const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' })
    expect(key.asymmetricKeyDetails).toMatchObject({ modulusLength: 2048, publicExponent: 65537n })
  })

  it('knows every key type core does', () => {
    expect(WIRE_KEY_TYPES).toHaveLength(6)
  })
})
