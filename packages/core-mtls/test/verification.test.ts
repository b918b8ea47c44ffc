/**
 * Data plane certificates from every kind of CA, checked by verifiers that are not ours:
 * `openssl verify -x509_strict`, `openssl x509 -text`, and node's X509Certificate.
 */
import '../src/polyfill.ts'
import { X509Certificate } from 'node:crypto'
import {
  certificateText,
  openssl,
  opensslChain,
  opensslFiles,
  verifyStrict,
} from '@meshca/test-support/openssl'
import { beforeAll, describe, expect, it } from 'vitest'
import { createInlineSigner } from '../src/adapters/inline-signer.ts'
import { builtinCaBackend } from '../src/ca/builtin.ts'
import { defaultCaBackends } from '../src/ca/registry.ts'
import {
  createIdentityIssuer,
  type DataplaneIdentity,
  type IdentityResult,
} from '../src/issuance/identity-issuer.ts'
import type { DataplaneSpec } from '../src/resources/dataplane.ts'
import type { CaBackendSpec, MeshSpec } from '../src/resources/mesh.ts'
import { testCaContext } from '../src/testing/fixtures.ts'

const signer = createInlineSigner()

function dataplane(tags: Record<string, string>[]): DataplaneSpec {
  return {
    networking: {
      address: '10.0.0.1',
      inbound: tags.map((t, i) => ({ port: 8080 + i, tags: t, other: {} })),
      other: {},
    },
    other: {},
  }
}

const web = dataplane([
  { 'kuma.io/service': 'web', version: 'v1' },
  { 'kuma.io/service': 'web-api', version: 'v1' },
])

function meshWith(backend: CaBackendSpec, extra: CaBackendSpec[] = []): MeshSpec {
  return { mtls: { enabledBackend: backend.name, backends: [backend, ...extra] }, other: {} }
}

function identity(result: IdentityResult): DataplaneIdentity {
  if (result.mode === 'DISABLED') throw new Error('mTLS is disabled')
  return result
}

async function issueFor(ctx: ReturnType<typeof testCaContext>, meshSpec: MeshSpec, csr?: string) {
  const issuer = createIdentityIssuer({ ctx, caBackends: defaultCaBackends(), signer })
  return identity(
    await issuer.issue({
      mesh: 'default',
      meshSpec,
      dataplane: 'web-1',
      dataplaneSpec: web,
      ...(csr ? { csr } : {}),
    })
  )
}

const GOLDEN_URIS = [
  'spiffe://default/web',
  'spiffe://default/web-api',
  'kuma://kuma.io/service/web',
  'kuma://kuma.io/service/web-api',
  'kuma://version/v1',
]

function expectLeafProfile(id: DataplaneIdentity, keyUsage: string) {
  const leafPem =
    id.certificateChainPem.match(
      /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n/
    )?.[0] ?? ''
  const text = certificateText(leafPem)
  expect(text).toMatch(/Subject: ?\n/)
  expect(text).toMatch(
    /X509v3 Subject Alternative Name: critical\s+URI:spiffe:\/\/default\/web, URI:spiffe:\/\/default\/web-api, URI:kuma:\/\/kuma.io\/service\/web, URI:kuma:\/\/kuma.io\/service\/web-api, URI:kuma:\/\/version\/v1\n/
  )
  expect(text).toMatch(new RegExp(`X509v3 Key Usage: critical\\s+${keyUsage}\\n`))
  expect(text).toMatch(
    /X509v3 Extended Key Usage: \s*\n\s+TLS Web Server Authentication, TLS Web Client Authentication\n/
  )
  expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE\n/)
  expect(text).toContain('X509v3 Authority Key Identifier')
  const node = new X509Certificate(leafPem)
  expect(node.ca).toBe(false)
  expect(node.subjectAltName).toBe(GOLDEN_URIS.map((u) => `URI:${u}`).join(', '))
  if ('Deno' in globalThis) {
    // Deno's node:crypto answers `keyUsage` with the key usage bits, not the extended key usage
    // OIDs Node documents; openssl's text above already checked the EKU.
    expect(node.keyUsage).toContain('DigitalSignature')
  } else {
    expect(node.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'])
  }
  const lifetime = new Date(node.validTo).getTime() - id.generation.getTime()
  return { node, lifetime, text }
}

describe('builtin CAs', () => {
  it('RSA root: openssl -x509_strict accepts the leaf, fields are Kuma’s, lifetime from dpCert', async () => {
    const ctx = testCaContext()
    const backend: CaBackendSpec = {
      name: 'ca-1',
      type: 'builtin',
      dpCert: { rotation: { expiration: '1d' } },
      conf: { caCert: { RSAbits: 2048, expiration: '10y' } },
    }
    await builtinCaBackend.ensure(ctx, 'default', backend)
    const id = await issueFor(ctx, meshWith(backend))
    const verified = verifyStrict(id.trustBundlePem, id.certificateChainPem)
    expect(verified.output).toContain('leaf.pem: OK')
    const { node, lifetime, text } = expectLeafProfile(
      id,
      'Digital Signature, Key Encipherment, Key Agreement'
    )
    expect(text).toContain('Public-Key: (2048 bit)')
    expect(Math.abs(lifetime - 86_400_000)).toBeLessThan(1_000)
    expect(id.privateKeyPem).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/)
    // The private key belongs to the certificate (openssl's view).
    const keyModulus = openssl(['rsa', '-noout', '-modulus', '-in', 'k.pem'], {
      'k.pem': id.privateKeyPem ?? '',
    })
    const certModulus = openssl(['x509', '-noout', '-modulus', '-in', 'c.pem'], {
      'c.pem': id.certificateChainPem,
    })
    expect(keyModulus.output).toBe(certModulus.output)
    expect(node.checkIssued(new X509Certificate(id.trustBundlePem))).toBe(true)
    expect(id.backend).toBe('ca-1')
    expect(id.supportedBackends).toEqual(['ca-1'])
    expect(id.mode).toBe('STRICT')
    // 4/5 of a day plus at most 5 % jitter.
    const rotateAfter = id.rotateAt.getTime() - id.generation.getTime()
    expect(rotateAfter).toBeGreaterThanOrEqual(0.8 * 86_400_000 - 1_000)
    expect(rotateAfter).toBeLessThan(0.85 * 86_400_000)
  })

  it('ECDSA root with ECDSA leaves (decision 16 of docs/decisions.md); default lifetime is 30 days (decision 1 of docs/decisions.md)', async () => {
    const ctx = testCaContext()
    const backend: CaBackendSpec = {
      name: 'ec',
      type: 'builtin',
      dpCert: { keyType: 'ECDSA_P256' },
      conf: { caCert: { keyType: 'ECDSA_P256' } },
    }
    await builtinCaBackend.ensure(ctx, 'default', backend)
    const id = await issueFor(ctx, meshWith(backend))
    expect(verifyStrict(id.trustBundlePem, id.certificateChainPem).output).toContain('leaf.pem: OK')
    const { lifetime, text } = expectLeafProfile(id, 'Digital Signature, Key Agreement')
    expect(text).toContain('Signature Algorithm: ecdsa-with-SHA256')
    expect(Math.abs(lifetime - 30 * 86_400_000)).toBeLessThan(1_000)
    expect(id.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/)
  })

  it('a certificate from another mesh’s CA does not verify against this bundle', async () => {
    const ctx = testCaContext()
    const backend: CaBackendSpec = { name: 'ca-1', type: 'builtin' }
    await builtinCaBackend.ensure(ctx, 'default', backend)
    await builtinCaBackend.ensure(ctx, 'other', backend)
    const ours = await issueFor(ctx, meshWith(backend))
    const issuer = createIdentityIssuer({ ctx, caBackends: defaultCaBackends(), signer })
    const theirs = identity(
      await issuer.issue({
        mesh: 'other',
        meshSpec: meshWith(backend),
        dataplane: 'x',
        dataplaneSpec: web,
      })
    )
    const result = verifyStrict(ours.trustBundlePem, theirs.certificateChainPem)
    expect(result.ok).toBe(false)
    expect(result.output).toMatch(/unable to get local issuer certificate/)
  })

  it('the bundle holds every backend’s root while the enabled one signs (decision 3 of docs/decisions.md)', async () => {
    const ctx = testCaContext()
    const a: CaBackendSpec = { name: 'ca-1', type: 'builtin' }
    const b: CaBackendSpec = { name: 'ca-2', type: 'builtin' }
    await builtinCaBackend.ensure(ctx, 'default', a)
    await builtinCaBackend.ensure(ctx, 'default', b)
    const before = await issueFor(ctx, meshWith(a, [b]))
    const after = await issueFor(ctx, meshWith(b, [a]))
    expect(before.supportedBackends).toEqual(['ca-1', 'ca-2'])
    // Each side's bundle accepts the other side's certificate: the switch needs no downtime.
    expect(verifyStrict(before.trustBundlePem, after.certificateChainPem).output).toContain(
      'leaf.pem: OK'
    )
    expect(verifyStrict(after.trustBundlePem, before.certificateChainPem).output).toContain(
      'leaf.pem: OK'
    )
  })
})

describe('provided CAs', () => {
  let chain: ReturnType<typeof opensslChain>

  beforeAll(() => {
    chain = opensslChain()
  })

  function providedContext(certPem: string, keyPem: string) {
    const ctx = testCaContext()
    const enc = new TextEncoder()
    ctx.secrets.entries.set('default/ca-cert', { data: enc.encode(certPem), version: '1' })
    ctx.secrets.entries.set('default/ca-key', { data: enc.encode(keyPem), version: '1' })
    return ctx
  }

  const provided: CaBackendSpec = {
    name: 'ca-1',
    type: 'provided',
    dpCert: { rotation: { expiration: '1h' } },
    conf: { cert: { secret: 'ca-cert' }, key: { secret: 'ca-key' } },
  }

  it('a provided root made by openssl signs leaves openssl accepts', async () => {
    const ctx = providedContext(chain.rootPem, chain.rootKeyPem)
    const validation = await defaultCaBackends().get('provided')?.validate(ctx, 'default', provided)
    expect(validation?.violations).toEqual([])
    const id = await issueFor(ctx, meshWith(provided))
    expect(verifyStrict(chain.rootPem, id.certificateChainPem).output).toContain('leaf.pem: OK')
    expectLeafProfile(id, 'Digital Signature, Key Encipherment, Key Agreement')
  })

  it('a two-level chain: the chain carries the intermediate, a verifier holding only the root accepts it (decision 21 of docs/decisions.md)', async () => {
    const ctx = providedContext(chain.intermediatePem + chain.rootPem, chain.intermediateKeyPem)
    const id = await issueFor(ctx, meshWith(provided))
    const certs = id.certificateChainPem.match(/-----BEGIN CERTIFICATE-----/g) ?? []
    expect(certs).toHaveLength(2)
    expect(id.certificateChainPem.endsWith(chain.intermediatePem)).toBe(true)
    // Only the root is trusted; the intermediate comes from the data plane's chain.
    expect(verifyStrict(chain.rootPem, id.certificateChainPem).output).toContain('leaf.pem: OK')
    // Kuma's peers, which get the whole file as bundle and only the leaf, verify too.
    expect(id.trustBundlePem).toBe(chain.intermediatePem + chain.rootPem)
    const leafOnly = id.certificateChainPem.slice(
      0,
      id.certificateChainPem.indexOf('-----END CERTIFICATE-----') + 26
    )
    expect(verifyStrict(id.trustBundlePem, leafOnly, ['-partial_chain']).output).toContain(
      'leaf.pem: OK'
    )
    const leaf = new X509Certificate(leafOnly)
    expect(leaf.checkIssued(new X509Certificate(chain.intermediatePem))).toBe(true)
  })

  it('an EC provided chain works too', async () => {
    const ec = opensslChain('ec')
    const ctx = providedContext(ec.intermediatePem + ec.rootPem, ec.intermediateKeyPem)
    const id = await issueFor(ctx, meshWith(provided))
    expect(verifyStrict(ec.rootPem, id.certificateChainPem).output).toContain('leaf.pem: OK')
  })
})

describe('CSR flow (decision 17 of docs/decisions.md)', () => {
  const backend: CaBackendSpec = { name: 'ca-1', type: 'builtin' }

  function csr(newkey: string[], subjectAltName: string): { csr: string; key: string } {
    const files = opensslFiles(
      [
        [
          'req',
          '-new',
          ...newkey,
          '-nodes',
          '-keyout',
          'k.pem',
          '-out',
          'r.pem',
          '-subj',
          '/CN=admin',
          '-addext',
          `subjectAltName=${subjectAltName}`,
        ],
      ],
      {},
      ['k.pem', 'r.pem']
    )
    return { csr: files['r.pem'] ?? '', key: files['k.pem'] ?? '' }
  }

  it('signs the workload’s key for the data plane’s identity, ignoring the SANs it asks for', async () => {
    const ctx = testCaContext()
    await builtinCaBackend.ensure(ctx, 'default', backend)
    const request = csr(
      ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
      'URI:spiffe://default/admin'
    )
    const id = await issueFor(ctx, meshWith(backend), request.csr)
    expect(id.privateKeyPem).toBeUndefined()
    expect(verifyStrict(id.trustBundlePem, id.certificateChainPem).output).toContain('leaf.pem: OK')
    const leaf = new X509Certificate(id.certificateChainPem)
    expect(leaf.subjectAltName).not.toContain('admin')
    expect(leaf.subjectAltName).toContain('URI:spiffe://default/web')
    const pub = openssl(['pkey', '-pubout', '-in', 'k.pem'], { 'k.pem': request.key }).output
    expect(leaf.publicKey.export({ type: 'spki', format: 'pem' })).toBe(pub)
  })

  it('refuses a weak key and a bad signature at `csr`', async () => {
    const ctx = testCaContext()
    await builtinCaBackend.ensure(ctx, 'default', backend)
    const weak = csr(['-newkey', 'rsa:1024'], 'URI:spiffe://default/web')
    await expect(issueFor(ctx, meshWith(backend), weak.csr)).rejects.toMatchObject({
      code: 'INVALID',
      violations: [
        {
          field: 'csr',
          message: 'RSA key of 1024 bits is too weak; at least 2048 bits are required',
        },
      ],
    })
    const good = csr(['-newkey', 'rsa:2048'], 'URI:spiffe://default/web')
    const der = Buffer.from(good.csr.replace(/-----[^-]+-----|\s/g, ''), 'base64')
    der[der.length - 5] = (der[der.length - 5] ?? 0) ^ 0xff
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`
    await expect(issueFor(ctx, meshWith(backend), tampered)).rejects.toMatchObject({
      code: 'INVALID',
      violations: [{ field: 'csr', message: 'signature does not match its public key' }],
    })
    await expect(issueFor(ctx, meshWith(backend), 'garbage')).rejects.toMatchObject({
      code: 'INVALID',
      path: 'csr',
    })
  })
})

describe('mTLS off', () => {
  it('answers DISABLED without a certificate', async () => {
    const issuer = createIdentityIssuer({
      ctx: testCaContext(),
      caBackends: defaultCaBackends(),
      signer,
    })
    const result = await issuer.issue({
      mesh: 'default',
      meshSpec: { other: {} },
      dataplane: 'web-1',
      dataplaneSpec: web,
    })
    expect(result).toEqual({ mode: 'DISABLED' })
  })
})
