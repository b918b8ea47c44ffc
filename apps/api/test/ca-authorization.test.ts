/**
 * CA material is an admin's, as Secrets are: a non-admin user may read and edit a Mesh, but not its
 * `mtls` block, not force an unsafe CA switch, and not delete a Mesh whose CA material or Secrets go
 * with it.
 */

import { selfSignedCa } from '@meshca/test-support/openssl'
import { describe, expect, it } from 'vitest'
import { builtinMesh, putOk } from './support/dataplane-setup.ts'
import {
  createHarness,
  errorBody,
  type Harness,
  json,
  REMOTE,
  secretBody,
} from './support/harness.ts'

const ALICE = 'user "alice/team-a"'

async function alice(h: Harness): Promise<{ token: string; from: string }> {
  return { token: await h.token('alice', ['team-a']), from: REMOTE }
}

async function forbidden(response: Response, action: string): Promise<void> {
  expect(response.status).toBe(403)
  expect(await errorBody(response)).toEqual({
    title: 'Access Denied',
    details: `${ALICE} cannot ${action}: only admins manage CA material`,
  })
}

const CA_EXTENSIONS = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign']

function opensslCa(cn: string): { certificate: string; key: string } {
  const { certPem, keyPem } = selfSignedCa(cn, CA_EXTENSIONS)
  return { certificate: certPem, key: keyPem }
}

function providedMesh(name: string, cert: string, key: string) {
  return {
    type: 'Mesh',
    name,
    mtls: {
      enabledBackend: 'ca-1',
      backends: [
        {
          name: 'ca-1',
          type: 'provided',
          conf: { cert: { inlineString: cert }, key: { inlineString: key } },
        },
      ],
    },
  }
}

describe('CA material is admin-only', () => {
  it('refuses a non-admin a Mesh with mtls, created or changed, and lets them edit the rest', async () => {
    const h = createHarness()
    const user = await alice(h)
    await forbidden(await h.put('/meshes/m', builtinMesh('m'), user), 'change the mtls of a Mesh')
    expect((await h.get('/meshes/m')).status).toBe(404)
    // Without mtls, a user may create it, and an admin then turns mTLS on.
    expect((await h.put('/meshes/m', { type: 'Mesh', name: 'm' }, user)).status).toBe(201)
    await putOk(h, '/meshes/m', builtinMesh('m'))
    const { certificate, key } = opensslCa('takeover')
    const takeover = providedMesh('m', certificate, key)
    await forbidden(await h.put('/meshes/m', takeover, user), 'change the mtls of a Mesh')
    await forbidden(
      await h.put('/meshes/m?allowUnsafeBackendSwitch=true', takeover, user),
      'use allowUnsafeBackendSwitch'
    )
    // The rest of the Mesh stays the user's, with the mtls sent back as it was read (any order).
    const read = await json(await h.get('/meshes/m', user))
    const { enabledBackend, backends } = read.mtls as Record<string, unknown>
    const edited = {
      ...read,
      mtls: { backends, enabledBackend },
      metrics: { enabledBackend: 'prom-1', backends: [{ name: 'prom-1', type: 'prometheus' }] },
    }
    expect((await h.put('/meshes/m', edited, user)).status).toBe(200)
    const secrets = await json(await h.get('/meshes/m/secrets'))
    expect(secrets.total).toBe(2)
  })

  it('keeps a masked inline key a non-admin sends back, and refuses any other key', async () => {
    const h = createHarness()
    const { certificate, key } = opensslCa('inline')
    await putOk(h, '/meshes/m', providedMesh('m', certificate, key))
    const user = await alice(h)
    const read = await json(await h.get('/meshes/m', user))
    expect(JSON.stringify(read)).not.toContain('PRIVATE KEY')
    expect(
      (
        await h.put(
          '/meshes/m',
          {
            ...read,
            logging: {
              defaultBackend: 'x',
              backends: [{ name: 'x', type: 'file', conf: { path: '/tmp/x' } }],
            },
          },
          user
        )
      ).status
    ).toBe(200)
    const other = opensslCa('other')
    await forbidden(
      await h.put('/meshes/m', providedMesh('m', other.certificate, other.key), user),
      'change the mtls of a Mesh'
    )
  })

  it('refuses a non-admin the deletion of a Mesh holding CA material or Secrets', async () => {
    const h = createHarness()
    const user = await alice(h)
    await putOk(h, '/meshes/ca', builtinMesh('ca'))
    await forbidden(
      await h.del('/meshes/ca', user),
      'delete Mesh "ca", which holds CA material or Secrets'
    )
    await putOk(h, '/meshes/with-secret', { type: 'Mesh', name: 'with-secret' })
    await putOk(h, '/meshes/with-secret/secrets/s', secretBody('with-secret', 's', 'x'))
    await forbidden(
      await h.del('/meshes/with-secret', user),
      'delete Mesh "with-secret", which holds CA material or Secrets'
    )
    expect((await h.get('/meshes/ca/secrets/ca.ca-builtin-key-ca-1')).status).toBe(200)
    // A Mesh with neither is the user's to delete; an admin deletes the others.
    await putOk(h, '/meshes/plain', { type: 'Mesh', name: 'plain' })
    expect((await h.del('/meshes/plain', user)).status).toBe(200)
    expect((await h.del('/meshes/ca')).status).toBe(200)
    expect((await h.del('/meshes/with-secret')).status).toBe(200)
  })

  it('lets admins do all of it, with a token from anywhere', async () => {
    const h = createHarness()
    const admin = { token: await h.token('ops', ['mesh-system:admin']), from: REMOTE }
    expect((await h.put('/meshes/m', builtinMesh('m'), admin)).status).toBe(201)
    const { certificate, key } = opensslCa('switch')
    const switched = providedMesh('m', certificate, key)
    expect((await h.put('/meshes/m?allowUnsafeBackendSwitch=true', switched, admin)).status).toBe(
      200
    )
    expect((await h.del('/meshes/m', admin)).status).toBe(200)
  })
})
