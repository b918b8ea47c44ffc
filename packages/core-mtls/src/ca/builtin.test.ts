import '../polyfill.ts'
import { X509Certificate } from 'node:crypto'
import { certificateText, openssl } from '@meshca/test-support/openssl'
import { describe, expect, it } from 'vitest'
import type { CaBackendSpec } from '../resources/mesh.ts'
import { memorySecretAccess, testCaContext } from '../testing/fixtures.ts'
import { fromUtf8 } from '../util/bytes.ts'
import {
  builtinCaBackend,
  builtinCertSecretName,
  builtinKeySecretName,
  createBuiltinRoot,
} from './builtin.ts'

function backend(name: string, conf?: CaBackendSpec['conf']): CaBackendSpec {
  return conf ? { name, type: 'builtin', conf } : { name, type: 'builtin' }
}

async function secretText(ctx: ReturnType<typeof testCaContext>, mesh: string, name: string) {
  const secret = await ctx.secrets.get(mesh, name)
  if (!secret) throw new Error(`missing secret ${name}`)
  return fromUtf8(secret.data)
}

describe('builtin CA validation', () => {
  const validate = async (b: CaBackendSpec, mesh = 'default') =>
    (await builtinCaBackend.validate(testCaContext(), mesh, b)).violations

  it('accepts the brief example', async () => {
    expect(
      await validate(backend('ca-1', { caCert: { RSAbits: 2048, expiration: '10y' } }))
    ).toEqual([])
  })

  it('rejects an upper-case name (Kuma golden, the path of decision 7 of docs/decisions.md)', async () => {
    expect(await validate(backend('builtinCA'))).toEqual([
      { field: 'name', message: '"builtinCA" name must be valid dns name' },
    ])
  })

  it('rejects a name that makes the secret name longer than 255 (Kuma golden)', async () => {
    const name = `${'backend-long.'.repeat(19)}backend-long`
    expect(await validate(backend(name))).toEqual([
      { field: 'name', message: 'Backend name is too long. Max length: 255' },
    ])
  })

  it('rejects a DNS label over 63 characters and an empty name', async () => {
    expect(await validate(backend('a'.repeat(48)))).toEqual([
      { field: 'name', message: `"${'a'.repeat(48)}" name must be valid dns name` },
    ])
    expect(await validate(backend(''))).toEqual([{ field: 'name', message: 'cannot be empty' }])
  })

  it('validates RSAbits and expiration at admission (decision 8 of docs/decisions.md)', async () => {
    expect(
      await validate(backend('ca-1', { caCert: { RSAbits: 1024, expiration: '1h30m' } }))
    ).toEqual([
      { field: 'conf.caCert.RSAbits', message: 'must be one of 2048, 3072, 4096, 8192' },
      { field: 'conf.caCert.expiration', message: 'has to be a valid format' },
    ])
    expect(await validate(backend('ca-1', { caCert: { RSAbits: 2056 } }))).toHaveLength(1)
    expect(
      await validate(backend('ca-1', { caCert: { RSAbits: 4096, expiration: '30d' } }))
    ).toEqual([])
    // Every size the message lists is accepted.
    for (const RSAbits of [2048, 3072, 4096, 8192]) {
      expect(await validate(backend('ca-1', { caCert: { RSAbits } }))).toEqual([])
    }
  })

  it('reports a config of the wrong shape like Kuma', async () => {
    expect(await validate(backend('ca-1', { caCert: { RSAbits: 'x' } }))).toEqual([
      {
        field: 'conf',
        message: 'could not convert backend config: caCert.RSAbits: expected a number',
      },
    ])
  })

  it('rejects an unknown key type', async () => {
    expect(await validate(backend('ca-1', { caCert: { keyType: 'DSA' } }))).toEqual([
      { field: 'conf.caCert.keyType', message: 'must be one of RSA, ECDSA_P256, ECDSA_P384' },
    ])
  })
})

describe('builtin CA material', () => {
  it('creates a root with Kuma’s profile as two Secrets', async () => {
    const ctx = testCaContext()
    const before = Date.now()
    await builtinCaBackend.ensure(
      ctx,
      'default',
      backend('ca-1', { caCert: { expiration: '10y' } })
    )
    const after = Date.now()
    const certPem = await secretText(ctx, 'default', 'default.ca-builtin-cert-ca-1')
    const keyPem = await secretText(ctx, 'default', 'default.ca-builtin-key-ca-1')
    expect(keyPem).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/)
    const text = certificateText(certPem)
    // A positive 128-bit serial, not Kuma's 0 (RFC 5280 §4.1.2.2).
    expect(text).toMatch(/Serial Number:\s*\n\s+[0-7][0-9a-f]:([0-9a-f]{2}:){14}[0-9a-f]{2}\n/)
    expect(text).toContain('Issuer: O = Kuma, OU = Mesh, CN = default')
    expect(text).toContain('Subject: O = Kuma, OU = Mesh, CN = default')
    expect(text).toMatch(/Public-Key: \(2048 bit\)/)
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE\n/)
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign\n/)
    expect(text).toMatch(/X509v3 Subject Alternative Name:\s+URI:spiffe:\/\/default\n/)
    expect(text).toContain('X509v3 Subject Key Identifier')
    expect(text).toContain('Signature Algorithm: sha256WithRSAEncryption')
    const node = new X509Certificate(certPem)
    expect(node.ca).toBe(true)
    expect(node.checkIssued(node)).toBe(true)
    expect(node.verify(node.publicKey)).toBe(true)
    const notBefore = new Date(node.validFrom).getTime()
    const notAfter = new Date(node.validTo).getTime()
    // Ten seconds before the clock read after the key was made (the key may take seconds on a
    // loaded machine), truncated to whole seconds.
    expect(notBefore).toBeLessThanOrEqual(after - 10_000)
    expect(notBefore).toBeGreaterThanOrEqual(before - 11_000)
    expect(Math.round((notAfter - before) / 86_400_000)).toBe(3650)
    // openssl agrees that the key belongs to the certificate.
    const modulus = (args: string[], files: Record<string, string>) => openssl(args, files).output
    expect(modulus(['rsa', '-noout', '-modulus', '-in', 'k.pem'], { 'k.pem': keyPem })).toBe(
      modulus(['x509', '-noout', '-modulus', '-in', 'c.pem'], { 'c.pem': certPem })
    )
  })

  it('never regenerates an existing CA, whatever the config says now', async () => {
    const ctx = testCaContext()
    await builtinCaBackend.ensure(ctx, 'default', backend('ca-1'))
    const first = await secretText(ctx, 'default', builtinCertSecretName('default', 'ca-1'))
    await builtinCaBackend.ensure(ctx, 'default', backend('ca-1', { caCert: { RSAbits: 4096 } }))
    expect(await secretText(ctx, 'default', builtinCertSecretName('default', 'ca-1'))).toBe(first)
  })

  it('gives every builtin backend its own pair (decision 2 of docs/decisions.md)', async () => {
    const ctx = testCaContext()
    await builtinCaBackend.ensure(ctx, 'default', backend('ca-1'))
    await builtinCaBackend.ensure(ctx, 'default', backend('ca-2'))
    const a = await builtinCaBackend.load(ctx, 'default', backend('ca-1'))
    const b = await builtinCaBackend.load(ctx, 'default', backend('ca-2'))
    expect(a.signing.id).not.toBe(b.signing.id)
    expect(a.trustBundlePem).not.toBe(b.trustBundlePem)
  })

  it('creates an ECDSA root when asked (decision 16 of docs/decisions.md)', async () => {
    const ctx = testCaContext()
    await builtinCaBackend.ensure(ctx, 'm1', backend('ec', { caCert: { keyType: 'ECDSA_P256' } }))
    const text = certificateText(await secretText(ctx, 'm1', 'm1.ca-builtin-cert-ec'))
    expect(text).toContain('ASN1 OID: prime256v1')
    expect(text).toContain('Signature Algorithm: ecdsa-with-SHA256')
    expect(text).toContain('URI:spiffe://m1')
  })

  it('repairs a half pair from the key that exists (decision 11 of docs/decisions.md)', async () => {
    const ctx = testCaContext()
    await builtinCaBackend.ensure(ctx, 'default', backend('ca-1'))
    const keyName = builtinKeySecretName('default', 'ca-1')
    const certName = builtinCertSecretName('default', 'ca-1')
    const key = await secretText(ctx, 'default', keyName)
    ctx.secrets.entries.delete(`default/${certName}`)
    await builtinCaBackend.ensure(ctx, 'default', backend('ca-1'))
    expect(await secretText(ctx, 'default', keyName)).toBe(key)
    await expect(builtinCaBackend.load(ctx, 'default', backend('ca-1'))).resolves.toBeDefined()
  })

  it('repairs a certificate left without its key with a coherent new pair (decision 11 of docs/decisions.md)', async () => {
    const ctx = testCaContext()
    const orphan = await createBuiltinRoot(ctx, 'default', 'RSA_2048', 3600_000)
    await ctx.secrets.create(
      'default',
      builtinCertSecretName('default', 'ca-1'),
      new TextEncoder().encode(orphan.certificatePem)
    )
    await builtinCaBackend.ensure(ctx, 'default', backend('ca-1'))
    const loaded = await builtinCaBackend.load(ctx, 'default', backend('ca-1'))
    expect(loaded.trustBundlePem).not.toBe(orphan.certificatePem)
  })

  it('refuses to load a mismatched pair instead of signing with it', async () => {
    const ctx = testCaContext()
    const a = await createBuiltinRoot(ctx, 'default', 'RSA_2048', 3600_000)
    const b = await createBuiltinRoot(ctx, 'default', 'RSA_2048', 3600_000)
    const enc = new TextEncoder()
    await ctx.secrets.create(
      'default',
      builtinCertSecretName('default', 'ca-1'),
      enc.encode(a.certificatePem)
    )
    await ctx.secrets.create(
      'default',
      builtinKeySecretName('default', 'ca-1'),
      enc.encode(b.keyPem)
    )
    await expect(builtinCaBackend.load(ctx, 'default', backend('ca-1'))).rejects.toMatchObject({
      code: 'CA_UNAVAILABLE',
      message:
        'failed to load CA key pair for Mesh "default" and backend "ca-1": tls: private key does not match public key',
    })
  })

  it('reports a missing CA with Kuma’s message (golden)', async () => {
    await expect(
      builtinCaBackend.load(testCaContext(), 'default', backend('ca-1'))
    ).rejects.toMatchObject({
      code: 'CA_UNAVAILABLE',
      message:
        'failed to load CA key pair for Mesh "default" and backend "ca-1": Resource not found: type="Secret" name="default.ca-builtin-cert-ca-1" mesh="default"',
    })
  })

  it('ends with exactly one pair when several control planes create the CA at once (decision 12 of docs/decisions.md)', async () => {
    const secrets = memorySecretAccess()
    const contexts = Array.from({ length: 4 }, () => testCaContext({ secrets }))
    await Promise.all(
      contexts.map((ctx) => builtinCaBackend.ensure(ctx, 'default', backend('ca-1')))
    )
    const loaded = await Promise.all(
      contexts.map((ctx) => builtinCaBackend.load(ctx, 'default', backend('ca-1')))
    )
    expect(new Set(loaded.map((l) => l.signing.id)).size).toBe(1)
    expect(secrets.entries.size).toBe(2)
  })

  it('lists both secrets as used', () => {
    expect(builtinCaBackend.usedSecrets('default', backend('ca-1'))).toEqual([
      'default.ca-builtin-cert-ca-1',
      'default.ca-builtin-key-ca-1',
    ])
  })
})
