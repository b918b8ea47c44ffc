import '../polyfill.ts'
import { generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { utf8 } from '../util/bytes.ts'
import { systemSecretViolations } from './system-secret-checks.ts'

async function problem(name: string, data: string) {
  const violations = await systemSecretViolations(crypto, 'm', name, utf8(data))
  return violations.map((v) => `${v.field}: ${v.message}`)
}

function pkcs8(key: { rsa: number } | 'P-256'): string {
  const { privateKey } =
    key === 'P-256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: key.rsa })
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
}

describe('systemSecretViolations', () => {
  it('leaves Secrets the control plane does not read alone', async () => {
    expect(await problem('my-ca-cert', 'anything')).toEqual([])
    expect(await problem('dataplane-token-signing-key-m-x', 'not a key id, never read')).toEqual([])
    expect(await problem('dataplane-token-signing-key-other-1', 'another mesh')).toEqual([])
  })

  it('wants a signing key that signs tokens, strong enough', async () => {
    const name = 'dataplane-token-signing-key-m-1'
    expect(await problem(name, pkcs8('P-256'))).toEqual([])
    expect(await problem(name, pkcs8({ rsa: 2048 }))).toEqual([])
    expect(await problem(name, pkcs8({ rsa: 1024 }))).toEqual([
      'data: RSA key of 1024 bits is too weak; at least 2048 bits are required',
    ])
    expect(await problem(name, 'junk')).toEqual([
      `data: Secret "${name}" is not a usable token signing key: not a PEM private key`,
    ])
  })

  it('wants a revocation list of token ids', async () => {
    const name = 'dataplane-token-revocations-m'
    expect(await problem(name, 'a-1, b_2\nc.3')).toEqual([])
    expect(await problem(name, 'a, b c, {x}')).toEqual([
      "data: a revocation list holds token ids (letters, digits, '.', '_', '-'; at most 128) separated by commas or white space; entry 4 is not one",
    ])
  })
})
