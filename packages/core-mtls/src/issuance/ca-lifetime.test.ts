import '../polyfill.ts'
import * as x509 from '@peculiar/x509'
import { describe, expect, it } from 'vitest'
import { createInlineSigner } from '../adapters/inline-signer.ts'
import { builtinCaBackend } from '../ca/builtin.ts'
import { defaultCaBackends } from '../ca/registry.ts'
import type { Clock } from '../ports/runtime.ts'
import type { CaBackendSpec, MeshSpec } from '../resources/mesh.ts'
import { testCaContext } from '../testing/fixtures.ts'
import { createIdentityIssuer } from './identity-issuer.ts'

const backend: CaBackendSpec = {
  name: 'ca-1',
  type: 'builtin',
  dpCert: { rotation: { expiration: '1d' } },
  conf: { caCert: { expiration: '1h' } },
}
const meshSpec: MeshSpec = { mtls: { enabledBackend: 'ca-1', backends: [backend] }, other: {} }
const dataplaneSpec = {
  networking: {
    address: '10.0.0.1',
    inbound: [{ port: 80, tags: { 'kuma.io/service': 'web' }, other: {} }],
    other: {},
  },
  other: {},
}

function movableClock(start: number): Clock & { at: number } {
  const clock = { at: start, now: () => new Date(clock.at) }
  return clock
}

describe('CA lifetime', () => {
  it('never issues a certificate that outlives its CA, and refuses an expired CA', async () => {
    const clock = movableClock(Date.now())
    const ctx = testCaContext({ clock })
    await builtinCaBackend.ensure(ctx, 'default', backend)
    const issuer = createIdentityIssuer({
      ctx,
      caBackends: defaultCaBackends(),
      signer: createInlineSigner(),
    })
    const request = { mesh: 'default', meshSpec, dataplane: 'web-1', dataplaneSpec }

    clock.at += 30 * 60_000
    const id = await issuer.issue(request)
    if (id.mode === 'DISABLED') throw new Error('mTLS should be on')
    const root = new x509.X509Certificate(id.trustBundlePem)
    const leaf = new x509.X509Certificate(id.certificateChainPem)
    // dpCert asks for a day; the CA only has half an hour left.
    expect(leaf.notAfter.getTime()).toBeLessThanOrEqual(root.notAfter.getTime())
    expect(root.notAfter.getTime() - leaf.notAfter.getTime()).toBeLessThan(1_000)
    expect(id.rotateAt.getTime()).toBeLessThan(root.notAfter.getTime())

    clock.at += 60 * 60_000
    await expect(issuer.issue(request)).rejects.toMatchObject({
      code: 'CA_UNAVAILABLE',
      message: expect.stringContaining('the CA certificate has expired'),
    })
  })

  it('keeps issuing when a backend that is not enabled cannot be loaded', async () => {
    const ctx = testCaContext()
    await builtinCaBackend.ensure(ctx, 'default', backend)
    const broken: CaBackendSpec = {
      name: 'ca-2',
      type: 'provided',
      conf: { cert: { secret: 'gone' }, key: { secret: 'gone' } },
    }
    const issuer = createIdentityIssuer({
      ctx,
      caBackends: defaultCaBackends(),
      signer: createInlineSigner(),
    })
    const id = await issuer.issue({
      mesh: 'default',
      meshSpec: { mtls: { enabledBackend: 'ca-1', backends: [backend, broken] }, other: {} },
      dataplane: 'web-1',
      dataplaneSpec,
    })
    if (id.mode === 'DISABLED') throw new Error('mTLS should be on')
    expect(id.supportedBackends).toEqual(['ca-1'])
  })
})
