import '../polyfill.ts'
import { describe, expect, it } from 'vitest'
import { opensslChain } from '../../test/openssl.ts'
import type { StoredSecret } from '../ca/ca-backend.ts'
import { utf8 } from '../util/bytes.ts'
import { systemSecretViolations } from './system-secret-checks.ts'

const a = opensslChain('ec')
const b = opensslChain('ec')

function context(siblings: Record<string, string> = {}) {
  return {
    crypto,
    now: new Date(),
    sibling: async (name: string): Promise<StoredSecret | undefined> =>
      siblings[name] === undefined ? undefined : { data: utf8(siblings[name]), version: '1' },
  }
}

async function problem(name: string, data: string, siblings?: Record<string, string>) {
  const violations = await systemSecretViolations(context(siblings), 'm', name, utf8(data))
  return violations.map((v) => `${v.field}: ${v.message}`)
}

describe('systemSecretViolations', () => {
  it('leaves Secrets the control plane does not read alone', async () => {
    expect(await problem('my-ca-cert', 'anything')).toEqual([])
    expect(await problem('dataplane-token-signing-key-m-x', 'not a key id, never read')).toEqual([])
    expect(await problem('dataplane-token-signing-key-other-1', 'another mesh')).toEqual([])
  })

  it('checks each half of a builtin CA on its own and against the other half', async () => {
    const cert = 'm.ca-builtin-cert-ca-1'
    const key = 'm.ca-builtin-key-ca-1'
    expect(await problem(cert, a.rootPem)).toEqual([])
    expect(await problem(key, a.rootKeyPem)).toEqual([])
    expect(await problem(cert, a.rootPem, { [key]: a.rootKeyPem })).toEqual([])
    expect(await problem(key, 'junk')).toEqual([
      'data: the key of builtin CA backend "ca-1": tls: failed to find any PEM data in key input',
    ])
    expect((await problem(key, b.rootKeyPem, { [cert]: a.rootPem }))[0]).toMatch(
      /^data: the key of builtin CA backend "ca-1" must belong to its certificate Secret "m.ca-builtin-cert-ca-1": .*does not match/
    )
    expect((await problem(cert, b.rootPem, { [key]: a.rootKeyPem }))[0]).toMatch(
      /^data: the certificate of builtin CA backend "ca-1" must belong to its key Secret "m.ca-builtin-key-ca-1": .*does not match/
    )
    expect((await problem(cert, 'junk'))[0]).toMatch(
      /^data: the certificate of builtin CA backend "ca-1": /
    )
  })
})
