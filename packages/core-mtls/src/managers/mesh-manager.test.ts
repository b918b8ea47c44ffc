import '../polyfill.ts'
import { opensslChain, opensslFiles } from '@meshca/test-support/openssl'
import { describe, expect, it } from 'vitest'
import { memoryCore } from '../../test/memory-core.ts'
import { specFromJson } from '../resources/codec.ts'
import type { Resource } from '../resources/resource.ts'
import type { JsonObject } from '../resources/types.ts'

const enc = new TextEncoder()

function mesh(name: string, json: JsonObject, meta?: Resource['meta']): Resource<'Mesh'> {
  return {
    type: 'Mesh',
    name,
    mesh: '',
    spec: specFromJson('Mesh', json),
    ...(meta ? { meta } : {}),
  }
}

const builtinExample = {
  mtls: {
    enabledBackend: 'ca-1',
    backends: [
      {
        name: 'ca-1',
        type: 'builtin',
        dpCert: { rotation: { expiration: '1d' } },
        conf: { caCert: { RSAbits: 2048, expiration: '10y' } },
      },
    ],
  },
}

function dataplane(meshName: string, name: string, service: string): Resource<'Dataplane'> {
  return {
    type: 'Dataplane',
    name,
    mesh: meshName,
    spec: specFromJson('Dataplane', {
      networking: {
        address: '10.0.0.1',
        inbound: [{ port: 8080, tags: { 'kuma.io/service': service } }],
      },
    }),
  }
}

function insight(
  meshName: string,
  name: string,
  supported: string[],
  online = true
): Resource<'DataplaneInsight'> {
  return {
    type: 'DataplaneInsight',
    name,
    mesh: meshName,
    spec: specFromJson('DataplaneInsight', {
      subscriptions: [
        online
          ? { id: 's1', controlPlaneInstanceId: 'cp', connectTime: '2026-01-01T00:00:00Z' }
          : {
              id: 's1',
              controlPlaneInstanceId: 'cp',
              connectTime: '2026-01-01T00:00:00Z',
              disconnectTime: '2026-01-01T01:00:00Z',
            },
      ],
      mTLS: { issuedBackend: supported[0] ?? '', supportedBackends: supported },
    }),
  }
}

describe('MeshManager', () => {
  it('creates the brief’s builtin mesh: CA secrets (encrypted), default TrafficPermission', async () => {
    const { core, store } = memoryCore()
    const result = await core.meshes.create(mesh('default', builtinExample))
    expect(result.warnings).toEqual([])
    const secrets = await core.secrets.list({ mesh: 'default' })
    expect(secrets.items.map((s) => s.name)).toEqual([
      'default.ca-builtin-cert-ca-1',
      'default.ca-builtin-key-ca-1',
    ])
    const raw = await store.get({
      type: 'Secret',
      mesh: 'default',
      name: 'default.ca-builtin-key-ca-1',
    })
    expect(JSON.stringify(raw?.spec)).not.toContain('PRIVATE KEY')
    expect(Object.keys(raw?.spec ?? {})).toEqual(['encrypted'])
    const tp = await core.resources.get('TrafficPermission', 'default', 'allow-all-default')
    expect(tp?.spec.sources).toEqual([{ match: { 'kuma.io/service': '*' } }])
  })

  it('validates all CAs on create (Kuma golden: provided without conf)', async () => {
    const { core } = memoryCore()
    const spec = {
      mtls: { enabledBackend: 'ca-1', backends: [{ name: 'ca-1', type: 'provided' }] },
    }
    await expect(core.meshes.create(mesh('default', spec))).rejects.toMatchObject({
      code: 'INVALID',
      message:
        'mtls.backends[0].conf.cert: has to be defined; mtls.backends[0].conf.key: has to be defined',
    })
  })

  it('rejects a provided backend whose secrets do not exist, on both fields', async () => {
    const { core } = memoryCore()
    const spec = {
      mtls: {
        enabledBackend: 'ca-1',
        backends: [
          { name: 'ca-1', type: 'provided', conf: { cert: { secret: 'c' }, key: { secret: 'k' } } },
        ],
      },
    }
    const error = await core.meshes.create(mesh('default', spec)).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'INVALID' })
    const violations = (error as { violations: { field: string; message: string }[] }).violations
    expect(violations.map((v) => v.field)).toEqual([
      'mtls.backends[0].conf.cert',
      'mtls.backends[0].conf.key',
    ])
    expect(violations[0]?.message).toBe(
      'could not load data: Resource not found: type="Secret" name="k" mesh="default"'
    )
    expect(await core.meshes.get('default')).toBeUndefined()
  })

  it('stops at the first unknown backend type, as Kuma does', async () => {
    const { core } = memoryCore()
    const spec = {
      mtls: {
        backends: [
          { name: 'a', type: 'vault' },
          { name: 'b', type: 'provided' },
        ],
      },
    }
    await expect(core.meshes.create(mesh('default', spec))).rejects.toMatchObject({
      violations: [
        {
          field: 'mtls.backends[0].type',
          message: 'could not find installed plugin for this type',
        },
      ],
    })
  })

  it('returns requirement-4 warnings with a successful create (decision 5 of docs/decisions.md)', async () => {
    const { core } = memoryCore()
    const files = opensslFiles(
      [
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          'k.pem',
          '-out',
          'c.pem',
          '-subj',
          '/CN=ds',
          '-days',
          '30',
          '-config',
          'x.cnf',
          '-extensions',
          'ext',
        ],
      ],
      {
        'x.cnf':
          '[req]\ndistinguished_name=dn\n[dn]\n[ext]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,digitalSignature,keyEncipherment\nsubjectKeyIdentifier=hash\n',
      },
      ['k.pem', 'c.pem']
    )
    await core.meshes.create(mesh('default', {}))
    await core.secrets.create('default', 'ca-cert', enc.encode(files['c.pem']))
    await core.secrets.create('default', 'ca-key', enc.encode(files['k.pem']))
    const spec = {
      mtls: {
        enabledBackend: 'ca-1',
        backends: [
          {
            name: 'ca-1',
            type: 'provided',
            conf: { cert: { secret: 'ca-cert' }, key: { secret: 'ca-key' } },
          },
        ],
      },
    }
    const current = await core.meshes.get('default')
    const result = await core.meshes.update(mesh('default', spec, current?.meta))
    expect(result.warnings).toHaveLength(1)
    expect(result.warnings[0]?.field).toBe('mtls.backends[0].conf.cert[0]')
  })

  it('lets an update through past a backend that expired unchanged, with a warning', async () => {
    let now = 0
    const { core } = memoryCore({ clock: { now: () => new Date(now) } })
    const files = opensslFiles(
      [
        [
          ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem'],
          ...['-subj', '/CN=short', '-days', '30', '-config', 'x.cnf', '-extensions', 'ext'],
        ],
      ],
      {
        'x.cnf':
          '[req]\ndistinguished_name=dn\n[dn]\n[ext]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n',
      },
      ['k.pem', 'c.pem']
    )
    // After openssl ran: its NotBefore is the time it made the certificate.
    now = Date.now()
    await core.meshes.create(mesh('default', {}))
    await core.secrets.create('default', 'ca-cert', enc.encode(files['c.pem']))
    await core.secrets.create('default', 'ca-key', enc.encode(files['k.pem']))
    const provided = {
      name: 'ca-1',
      type: 'provided',
      conf: { cert: { secret: 'ca-cert' }, key: { secret: 'ca-key' } },
    }
    const current = await core.meshes.get('default')
    await core.meshes.update(
      mesh('default', { mtls: { enabledBackend: 'ca-1', backends: [provided] } }, current?.meta)
    )
    now += 31 * 24 * 3600_000

    // The way out: add a new backend. The expired one, unchanged, does not stand in the way.
    const rotating = {
      mtls: { enabledBackend: 'ca-1', backends: [provided, { name: 'ca-2', type: 'builtin' }] },
    }
    const result = await core.meshes.update(mesh('default', rotating))
    expect(result.warnings.map((w) => w.field)).toEqual(['mtls.backends[0].conf.cert[0]'])
    expect(result.warnings[0]?.message).toMatch(/^certificate has expired/)
    // Changing the expired backend is an admission like any other: refused.
    const renamed = { ...provided, name: 'ca-1b' }
    const refused = {
      mtls: { enabledBackend: 'ca-2', backends: [renamed, { name: 'ca-2', type: 'builtin' }] },
    }
    await expect(core.meshes.update(mesh('default', refused))).rejects.toMatchObject({
      code: 'INVALID',
    })
  })

  it('allows a CA switch only when every online data plane trusts the new backend (decision 4 of docs/decisions.md)', async () => {
    const { core } = memoryCore()
    await core.meshes.create(mesh('default', builtinExample))
    const twoBackends = {
      mtls: {
        enabledBackend: 'ca-1',
        backends: [...builtinExample.mtls.backends, { name: 'ca-2', type: 'builtin' }],
      },
    }
    await core.meshes.update(mesh('default', twoBackends))
    await core.resources.create(dataplane('default', 'web-1', 'web'))
    await core.resources.create(dataplane('default', 'web-2', 'web'))
    await core.resources.create(dataplane('default', 'gone', 'web'))
    await core.resources.create(insight('default', 'web-1', ['ca-1']))
    await core.resources.create(insight('default', 'web-2', ['ca-1']))
    await core.resources.create(insight('default', 'gone', ['ca-1'], false))
    const switched = { mtls: { ...twoBackends.mtls, enabledBackend: 'ca-2' } }
    const error = await core.meshes.update(mesh('default', switched)).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'INVALID', path: 'mtls.enabledBackend' })
    expect((error as Error).message).toContain(
      '2 online data plane proxies do not list backend "ca-2"'
    )
    // Once they received the bundle with ca-2, the switch is safe. The offline one does not count.
    for (const name of ['web-1', 'web-2']) {
      const current = await core.resources.get('DataplaneInsight', 'default', name)
      if (!current) throw new Error('missing insight')
      await core.resources.update({
        ...current,
        spec: insight('default', name, ['ca-1', 'ca-2']).spec,
      })
    }
    await expect(core.meshes.update(mesh('default', switched))).resolves.toMatchObject({
      warnings: [],
    })
    expect((await core.meshes.get('default'))?.spec.mtls?.enabledBackend).toBe('ca-2')
  })

  it('refuses a switch to a backend the same update adds or changes, even when its name is trusted', async () => {
    const { core } = memoryCore()
    const backends = [...builtinExample.mtls.backends, { name: 'ca-2', type: 'builtin' }]
    await core.meshes.create(mesh('default', { mtls: { enabledBackend: 'ca-1', backends } }))
    await core.resources.create(dataplane('default', 'web-1', 'web'))
    // It trusts "ca-2" as it is now, a 2048-bit builtin root.
    await core.resources.create(insight('default', 'web-1', ['ca-1', 'ca-2']))
    const changed = {
      mtls: {
        enabledBackend: 'ca-2',
        backends: [
          ...builtinExample.mtls.backends,
          { name: 'ca-2', type: 'builtin', conf: { caCert: { RSAbits: 4096 } } },
        ],
      },
    }
    const error = await core.meshes.update(mesh('default', changed)).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'INVALID', path: 'mtls.enabledBackend' })
    expect((error as Error).message).toContain(
      'forbidden in the same update that adds or changes backend "ca-2": 1 online data plane proxy does not trust it yet'
    )
    // Unchanged, the same switch is safe.
    const switched = { mtls: { enabledBackend: 'ca-2', backends } }
    await expect(core.meshes.update(mesh('default', switched))).resolves.toBeDefined()
  })

  it('refuses to remove a backend while online data planes hold certificates it issued', async () => {
    const { core } = memoryCore()
    const ca2 = { name: 'ca-2', type: 'builtin' }
    const both = [{ name: 'ca-1', type: 'builtin' }, ca2]
    await core.meshes.create(mesh('default', { mtls: { enabledBackend: 'ca-1', backends: both } }))
    await core.resources.create(dataplane('default', 'web-1', 'web'))
    await core.resources.create(dataplane('default', 'gone', 'web'))
    await core.resources.create(insight('default', 'web-1', ['ca-1', 'ca-2']))
    await core.resources.create(insight('default', 'gone', ['ca-1', 'ca-2'], false))
    await core.meshes.update(mesh('default', { mtls: { enabledBackend: 'ca-2', backends: both } }))
    // web-1 still holds its ca-1 certificate; the offline one does not count.
    const onlyCa2 = mesh('default', { mtls: { enabledBackend: 'ca-2', backends: [ca2] } })
    const error = await core.meshes.update(onlyCa2).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'INVALID', path: 'mtls.backends' })
    expect((error as Error).message).toContain(
      'Removing backend "ca-1" is forbidden while data plane proxies hold certificates it issued: 1 online data plane proxy does'
    )
    // Re-issued by ca-2: now it may go.
    const current = await core.resources.get('DataplaneInsight', 'default', 'web-1')
    if (!current) throw new Error('missing insight')
    await core.resources.update({ ...current, spec: insight('default', 'web-1', ['ca-2']).spec })
    await expect(core.meshes.update(onlyCa2)).resolves.toBeDefined()
  })

  it('has an explicit override for disaster recovery', async () => {
    const { core } = memoryCore()
    await core.meshes.create(
      mesh('default', {
        mtls: {
          enabledBackend: 'a',
          backends: [
            { name: 'a', type: 'builtin' },
            { name: 'b', type: 'builtin' },
          ],
        },
      })
    )
    await core.resources.create(dataplane('default', 'web-1', 'web'))
    await core.resources.create(insight('default', 'web-1', ['a']))
    const switched = mesh('default', {
      mtls: {
        enabledBackend: 'b',
        backends: [
          { name: 'a', type: 'builtin' },
          { name: 'b', type: 'builtin' },
        ],
      },
    })
    await expect(core.meshes.update(switched)).rejects.toMatchObject({ code: 'INVALID' })
    await expect(
      core.meshes.update(switched, { allowUnsafeBackendSwitch: true })
    ).resolves.toBeDefined()
  })

  it('refuses to delete a mesh with data planes, then cascades to its secrets and policies', async () => {
    const { core, store } = memoryCore()
    await core.meshes.create(mesh('default', builtinExample))
    await core.resources.create(dataplane('default', 'web-1', 'web'))
    await expect(core.meshes.delete('default')).rejects.toMatchObject({
      code: 'INVALID',
      message: 'mesh: unable to delete mesh, there are still some dataplanes attached',
    })
    await core.resources.delete('Dataplane', 'default', 'web-1')
    await core.meshes.delete('default')
    expect((await store.list('Secret', { mesh: 'default' })).total).toBe(0)
    expect((await store.list('TrafficPermission', { mesh: 'default' })).total).toBe(0)
    await expect(core.meshes.delete('default')).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('deletes only the version the caller looked at, when it says which', async () => {
    const { core, store } = memoryCore()
    const { mesh: seen } = await core.meshes.create(mesh('m', {}))
    await core.meshes.update(mesh('m', builtinExample))
    await expect(core.meshes.delete('m', seen.meta?.version)).rejects.toMatchObject({
      code: 'CONFLICT',
    })
    expect((await store.list('Secret', { mesh: 'm' })).total).toBe(2)
    await core.meshes.delete('m', (await core.meshes.get('m'))?.meta?.version)
    expect(await core.meshes.get('m')).toBeUndefined()
  })

  it('guards secrets in use: delete refused with Kuma’s message, breaking updates refused (decision 10 of docs/decisions.md)', async () => {
    const { core } = memoryCore()
    await core.meshes.create(mesh('default', builtinExample))
    await expect(
      core.secrets.delete('default', 'default.ca-builtin-cert-ca-1')
    ).rejects.toMatchObject({
      violations: [
        {
          field: 'name',
          message:
            'The secret "default.ca-builtin-cert-ca-1" that you are trying to remove is currently in use in Mesh "default" in mTLS backend "ca-1". Please remove the reference from the "ca-1" backend before removing the secret.',
        },
      ],
    })
    const chain = opensslChain()
    await core.secrets.create('default', 'ca-cert', enc.encode(chain.rootPem))
    await core.secrets.create('default', 'ca-key', enc.encode(chain.rootKeyPem))
    const withProvided = {
      mtls: {
        enabledBackend: 'ca-1',
        backends: [
          ...builtinExample.mtls.backends,
          {
            name: 'ca-2',
            type: 'provided',
            conf: { cert: { secret: 'ca-cert' }, key: { secret: 'ca-key' } },
          },
        ],
      },
    }
    await core.meshes.update(mesh('default', withProvided))
    const current = await core.secrets.get('default', 'ca-key')
    if (!current) throw new Error('missing secret')
    await expect(
      core.secrets.update(
        'default',
        'ca-key',
        enc.encode(chain.intermediateKeyPem),
        current.version
      )
    ).rejects.toMatchObject({ code: 'INVALID', path: 'data' })
    // The CA still signs with the old, matching key.
    const trust = await core.identities.loadMeshTrust(
      'default',
      (await core.meshes.get('default'))?.spec ?? { other: {} }
    )
    expect(trust?.all.map((ca) => ca.backend)).toEqual(['ca-1', 'ca-2'])
  })

  it('ensures CAs of a mesh written straight into the store', async () => {
    const { core, store } = memoryCore()
    await store.create({ type: 'Mesh', mesh: '', name: 'raw' }, builtinExample)
    const stored = await core.meshes.get('raw')
    if (!stored) throw new Error('missing mesh')
    await core.meshes.ensureCas('raw', stored.spec)
    await core.meshes.ensureCas('raw', stored.spec)
    expect((await core.secrets.list({ mesh: 'raw' })).total).toBe(2)
  })

  it('issues a data plane identity end to end through the core', async () => {
    const { core } = memoryCore()
    await core.meshes.create(mesh('default', builtinExample))
    const dp = await core.resources.create(dataplane('default', 'web-1', 'web'))
    const meshResource = await core.meshes.get('default')
    if (!meshResource) throw new Error('missing mesh')
    const id = await core.identities.issue({
      mesh: 'default',
      meshSpec: meshResource.spec,
      dataplane: dp.name,
      dataplaneSpec: dp.spec,
    })
    expect(id.mode).toBe('STRICT')
    if (id.mode === 'DISABLED') return
    expect(id.uris).toEqual(['spiffe://default/web', 'kuma://kuma.io/service/web'])
  })
})
