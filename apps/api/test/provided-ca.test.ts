/**
 * Provided CAs made with openssl: each CA requirement violation is a 400 with its message at
 * `mtls.backends[0].conf.cert[i]`; a secret in use cannot be deleted or broken.
 */

import {
  BRIEF_CA_EXTENSIONS,
  intermediateCa,
  type OpensslCa,
  selfSignedCa,
} from '@meshca/test-support/openssl'
import { beforeAll, describe, expect, it } from 'vitest'
import { createHarness, errorBody, type Harness, secretBody } from './support/harness.ts'

const providedMesh = (name: string, cert = 'ca-cert', key = 'ca-key') => ({
  type: 'Mesh',
  name,
  mtls: {
    enabledBackend: 'ca-1',
    backends: [
      { name: 'ca-1', type: 'provided', conf: { cert: { secret: cert }, key: { secret: key } } },
    ],
  },
})

async function withSecrets(h: Harness, mesh: string, ca: OpensslCa): Promise<void> {
  expect((await h.put(`/meshes/${mesh}`, { type: 'Mesh', name: mesh })).status).toBe(201)
  expect(
    (await h.put(`/meshes/${mesh}/secrets/ca-cert`, secretBody(mesh, 'ca-cert', ca.certPem))).status
  ).toBe(201)
  expect(
    (await h.put(`/meshes/${mesh}/secrets/ca-key`, secretBody(mesh, 'ca-key', ca.keyPem))).status
  ).toBe(201)
}

const CA_FLAG =
  "basic constraint 'CA' must be set to 'true' (see X509-SVID: 4.1. Basic Constraints)"
const KEY_CERT_SIGN =
  "key usage extension 'keyCertSign' must be set (see X509-SVID: 4.3. Key Usage)"
const KEY_AGREEMENT =
  "key usage extension 'keyAgreement' must NOT be set (see X509-SVID: Appendix A. X.509 Field Reference)"

describe('provided CA requirements', () => {
  let root: OpensslCa
  beforeAll(() => {
    root = selfSignedCa('Root', [
      'basicConstraints=critical,CA:TRUE',
      'keyUsage=critical,keyCertSign,cRLSign',
    ])
  })

  it.each([
    [
      'not a CA',
      ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,keyCertSign'],
      [CA_FLAG],
    ],
    [
      'no keyCertSign',
      ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,cRLSign'],
      [KEY_CERT_SIGN],
    ],
    ['no key usage at all', ['basicConstraints=critical,CA:TRUE'], [KEY_CERT_SIGN]],
    [
      'keyAgreement',
      ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,keyAgreement'],
      [KEY_AGREEMENT],
    ],
    [
      'all three',
      ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyAgreement'],
      [CA_FLAG, KEY_CERT_SIGN, KEY_AGREEMENT],
    ],
  ])('%s: 400 at mtls.backends[0].conf.cert[0]', async (_case, extensions, messages) => {
    const h = createHarness()
    await withSecrets(h, 'm1', selfSignedCa('Bad', extensions))
    const response = await h.put('/meshes/m1', providedMesh('m1'))
    expect(response.status).toBe(400)
    expect(await errorBody(response)).toEqual({
      title: 'Could not update a resource',
      details: 'Resource is not valid',
      causes: messages.map((message) => ({ field: 'mtls.backends[0].conf.cert[0]', message })),
    })
  })

  it('checks every certificate of a chain: a bad root is cert[1]', async () => {
    const h = createHarness()
    const badRoot = selfSignedCa('Bad Root', [
      'basicConstraints=critical,CA:TRUE',
      'keyUsage=critical,cRLSign',
    ])
    const intermediate = intermediateCa(badRoot, 'Intermediate', BRIEF_CA_EXTENSIONS)
    await withSecrets(h, 'm1', {
      certPem: `${intermediate.certPem}${badRoot.certPem}`,
      keyPem: intermediate.keyPem,
    })
    const response = await h.put('/meshes/m1', providedMesh('m1'))
    expect(response.status).toBe(400)
    expect((await errorBody(response)).causes).toEqual([
      { field: 'mtls.backends[0].conf.cert[1]', message: KEY_CERT_SIGN },
    ])
  })

  it('accepts an intermediate chain made with openssl', async () => {
    const h = createHarness()
    const intermediate = intermediateCa(root, 'Intermediate', [
      'basicConstraints=critical,CA:TRUE,pathlen:0',
      'keyUsage=critical,keyCertSign,cRLSign',
    ])
    await withSecrets(h, 'm1', {
      certPem: `${intermediate.certPem}${root.certPem}`,
      keyPem: intermediate.keyPem,
    })
    expect((await h.put('/meshes/m1', providedMesh('m1'))).status).toBe(200)
  })

  it('refuses a key that does not match the certificate, at conf.cert', async () => {
    const h = createHarness()
    const other = selfSignedCa('Other', BRIEF_CA_EXTENSIONS)
    await withSecrets(h, 'm1', { certPem: root.certPem, keyPem: other.keyPem })
    const response = await h.put('/meshes/m1', providedMesh('m1'))
    expect((await errorBody(response)).causes).toEqual([
      {
        field: 'mtls.backends[0].conf.cert',
        message: 'not a valid TLS key pair: tls: private key does not match public key',
      },
    ])
  })

  it('refuses a backend whose secret is missing', async () => {
    const h = createHarness()
    await h.put('/meshes/m1', { type: 'Mesh', name: 'm1' })
    const response = await h.put('/meshes/m1', providedMesh('m1', 'nope', 'nope'))
    expect(response.status).toBe(400)
    const causes = (await errorBody(response)).causes ?? []
    expect(causes.map((c) => c.field)).toEqual([
      'mtls.backends[0].conf.cert',
      'mtls.backends[0].conf.key',
    ])
    expect(causes[0]?.message).toContain('could not load data')
  })

  it('refuses to delete a secret in use, with Kuma’s message, and to break it by an update', async () => {
    const h = createHarness()
    await withSecrets(h, 'm1', root)
    expect((await h.put('/meshes/m1', providedMesh('m1'))).status).toBe(200)
    const response = await h.del('/meshes/m1/secrets/ca-key')
    expect(response.status).toBe(400)
    expect(await errorBody(response)).toEqual({
      title: 'Could not delete a resource',
      details: 'Resource is not valid',
      causes: [
        {
          field: 'name',
          message:
            'The secret "ca-key" that you are trying to remove is currently in use in Mesh "m1" in mTLS backend "ca-1". Please remove the reference from the "ca-1" backend before removing the secret.',
        },
      ],
    })
    const other = selfSignedCa('Other', BRIEF_CA_EXTENSIONS)
    const broken = await h.put(
      '/meshes/m1/secrets/ca-key',
      secretBody('m1', 'ca-key', other.keyPem)
    )
    expect(broken.status).toBe(400)
    expect((await errorBody(broken)).causes?.[0]?.field).toBe('data')
  })

  it('refuses to delete a builtin CA secret in use', async () => {
    const h = createHarness()
    await h.put('/meshes/default', {
      type: 'Mesh',
      name: 'default',
      mtls: { enabledBackend: 'ca-1', backends: [{ name: 'ca-1', type: 'builtin' }] },
    })
    const response = await h.del('/meshes/default/secrets/default.ca-builtin-cert-ca-1')
    expect(response.status).toBe(400)
    expect((await errorBody(response)).causes).toEqual([
      {
        field: 'name',
        message:
          'The secret "default.ca-builtin-cert-ca-1" that you are trying to remove is currently in use in Mesh "default" in mTLS backend "ca-1". Please remove the reference from the "ca-1" backend before removing the secret.',
      },
    ])
  })
})
