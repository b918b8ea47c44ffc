import { createMemoryStore, generateEncryptionKey, loadDataSource } from '@meshca/core-mtls'
import { BRIEF_CA_EXTENSIONS, selfSignedCa } from '@meshca/test-support/openssl'
import { describe, expect, it } from 'vitest'
import { WARNINGS_HEADER } from '../src/routes/meshes.ts'
import {
  base64,
  createHarness,
  errorBody,
  json,
  secretBody,
  withoutTimes,
} from './support/harness.ts'

const builtin = (name: string, backends = ['ca-1']) => ({
  type: 'Mesh',
  name,
  mtls: {
    enabledBackend: backends[0],
    backends: backends.map((b) => ({ name: b, type: 'builtin' })),
  },
})

describe('Mesh routes', () => {
  it('PUT creates with 201 and an empty body, then updates with 200', async () => {
    const h = createHarness()
    const created = await h.put('/meshes/m1', { type: 'Mesh', name: 'm1' })
    expect(created.status).toBe(201)
    expect(await created.text()).toBe('')
    const updated = await h.put('/meshes/m1', builtin('m1'))
    expect(updated.status).toBe(200)
    expect(await updated.text()).toBe('')
    const read = await json(await h.get('/meshes/m1'))
    expect(withoutTimes(read)).toEqual(builtin('m1'))
    expect(read.creationTime).toMatch(/^\d{4}-\d\d-\d\dT/)
    expect(read.modificationTime).toMatch(/^\d{4}-\d\d-\d\dT/)
  })

  it('answers repeated GETs alike, and a write made past this API at once', async () => {
    const store = createMemoryStore()
    const encryptionKey = generateEncryptionKey()
    const h = createHarness({ store, encryptionKey })
    await h.put('/meshes/m1', builtin('m1'))
    const first = await h.get('/meshes/m1')
    expect(first.headers.get('content-type')).toBe('application/json')
    const text = await first.text()
    expect(await (await h.get('/meshes/m1')).text()).toBe(text)
    // Another instance on the same store writes; this one's next read must show it.
    const other = createHarness({ store, encryptionKey })
    expect((await other.put('/meshes/m1', builtin('m1', ['ca-1', 'ca-2']))).status).toBe(200)
    const after = await json(await h.get('/meshes/m1'))
    expect(withoutTimes(after)).toEqual(builtin('m1', ['ca-1', 'ca-2']))
  })

  it('creates the default TrafficPermission with the mesh', async () => {
    const h = createHarness()
    await h.put('/meshes/m1', { type: 'Mesh', name: 'm1' })
    const list = await json(await h.get('/meshes/m1/traffic-permissions'))
    expect(list.total).toBe(1)
    expect((list.items as { name: string }[])[0]?.name).toBe('allow-all-m1')
  })

  it('GET of a missing mesh is 404 with Kuma’s body', async () => {
    const h = createHarness()
    const response = await h.get('/meshes/nope')
    expect(response.status).toBe(404)
    expect(await errorBody(response)).toEqual({
      title: 'Could not retrieve a resource',
      details: 'Not found',
    })
  })

  it('lists meshes sorted by name', async () => {
    const h = createHarness()
    for (const name of ['b', 'a', 'c']) await h.put(`/meshes/${name}`, { type: 'Mesh', name })
    const list = await json(await h.get('/meshes'))
    expect(list.total).toBe(3)
    expect((list.items as { name: string }[]).map((m) => m.name)).toEqual(['a', 'b', 'c'])
    expect(list.next).toBeNull()
  })

  it('DELETE answers 200 with an empty body, 404 when missing, and removes the CA secrets', async () => {
    const h = createHarness()
    await h.put('/meshes/m1', builtin('m1'))
    expect((await json(await h.get('/meshes/m1/secrets'))).total).toBe(2)
    const deleted = await h.del('/meshes/m1')
    expect(deleted.status).toBe(200)
    expect(await deleted.text()).toBe('')
    expect((await h.get('/meshes/m1')).status).toBe(404)
    expect((await json(await h.get('/secrets'))).total).toBe(0)
    const again = await h.del('/meshes/m1')
    expect(again.status).toBe(404)
    expect(await errorBody(again)).toEqual({
      title: 'Could not delete a resource',
      details: 'Not found',
    })
  })

  it('refuses to delete a mesh with data planes', async () => {
    const h = createHarness()
    await h.put('/meshes/m1', { type: 'Mesh', name: 'm1' })
    const dp = {
      type: 'Dataplane',
      mesh: 'm1',
      name: 'dp-1',
      networking: {
        address: '10.0.0.1',
        inbound: [{ port: 80, tags: { 'kuma.io/service': 'web' } }],
      },
    }
    expect((await h.put('/meshes/m1/dataplanes/dp-1', dp)).status).toBe(201)
    const response = await h.del('/meshes/m1')
    expect(response.status).toBe(400)
    expect(await errorBody(response)).toEqual({
      title: 'Could not delete a resource',
      details: 'Resource is not valid',
      causes: [
        {
          field: 'mesh',
          message: 'unable to delete mesh, there are still some dataplanes attached',
        },
      ],
    })
  })

  it('reports spec violations with Kuma’s title, details and field paths', async () => {
    const h = createHarness()
    const response = await h.put('/meshes/m1', {
      type: 'Mesh',
      name: 'm1',
      mtls: { enabledBackend: 'ca-2', backends: [{ name: 'ca-1', type: 'builtin' }] },
    })
    expect(response.status).toBe(400)
    expect(await errorBody(response)).toEqual({
      title: 'Could not process a resource',
      details: 'Resource is not valid',
      causes: [
        {
          field: 'mtls.enabledBackend',
          message: 'has to be set to one of the backends in the mesh',
        },
      ],
    })
    const plugin = await h.put('/meshes/m1', {
      type: 'Mesh',
      name: 'm1',
      mtls: { backends: [{ name: 'ca-1', type: 'vault' }] },
    })
    expect(await errorBody(plugin)).toEqual({
      title: 'Could not create a resource',
      details: 'Resource is not valid',
      causes: [
        {
          field: 'mtls.backends[0].type',
          message: 'could not find installed plugin for this type',
        },
      ],
    })
  })

  it('gives every builtin backend its own CA', async () => {
    const h = createHarness()
    await h.put('/meshes/m1', builtin('m1', ['ca-1', 'ca-2']))
    const list = await json(await h.get('/meshes/m1/secrets'))
    const names = (list.items as { name: string; data: string }[]).map((s) => s.name)
    expect(names).toEqual([
      'm1.ca-builtin-cert-ca-1',
      'm1.ca-builtin-cert-ca-2',
      'm1.ca-builtin-key-ca-1',
      'm1.ca-builtin-key-ca-2',
    ])
    const cert = (backend: string) =>
      (list.items as { name: string; data: string }[]).find(
        (s) => s.name === `m1.ca-builtin-cert-${backend}`
      )?.data
    expect(cert('ca-1')).not.toEqual(cert('ca-2'))
  })

  it('returns the warnings of decision 5 (docs/decisions.md) in the x-meshca-warnings header', async () => {
    const h = createHarness()
    await h.put('/meshes/m1', { type: 'Mesh', name: 'm1' })
    const ca = selfSignedCa('Warned', [
      'basicConstraints=critical,CA:TRUE',
      'keyUsage=critical,keyCertSign,digitalSignature',
    ])
    await h.put('/meshes/m1/secrets/ca-cert', secretBody('m1', 'ca-cert', ca.certPem))
    await h.put('/meshes/m1/secrets/ca-key', secretBody('m1', 'ca-key', ca.keyPem))
    const response = await h.put('/meshes/m1', {
      type: 'Mesh',
      name: 'm1',
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
    })
    expect(response.status).toBe(200)
    const warnings = JSON.parse(response.headers.get(WARNINGS_HEADER) ?? 'null')
    expect(warnings).toEqual([
      {
        field: 'mtls.backends[0].conf.cert[0]',
        message: expect.stringContaining('digitalSignature'),
      },
    ])
    const quiet = await h.put('/meshes/m2', { type: 'Mesh', name: 'm2' })
    expect(quiet.headers.get(WARNINGS_HEADER)).toBeNull()
  })

  it('masks inline keys as *** and keeps the stored key when *** comes back', async () => {
    const h = createHarness()
    const ca = selfSignedCa('Inline', BRIEF_CA_EXTENSIONS)
    const mesh = (key: Record<string, string>) => ({
      type: 'Mesh',
      name: 'm1',
      mtls: {
        enabledBackend: 'ca-1',
        backends: [
          { name: 'ca-1', type: 'provided', conf: { cert: { inline: base64(ca.certPem) }, key } },
        ],
      },
    })
    const masked = mesh({ inline: '***' })
    expect((await h.put('/meshes/m1', mesh({ inline: base64(ca.keyPem) }))).status).toBe(201)
    const read = withoutTimes(await json(await h.get('/meshes/m1')))
    expect(read).toEqual(masked)
    const listed = await json(await h.get('/meshes'))
    expect(JSON.stringify(listed)).not.toContain(base64(ca.keyPem))
    expect(JSON.stringify(listed)).toContain('"***"')

    // Sending back what was read keeps the key; the stored spec never holds the mask.
    expect((await h.put('/meshes/m1', read)).status).toBe(200)
    const stored = await h.core.meshes.get('m1')
    const kept = stored?.spec.mtls?.backends?.[0]?.conf?.key as { inline: string }
    expect(Object.keys(kept)).toEqual(['inline'])
    // Kept sealed, as it was stored: the mask was never written, and the key opens as it was.
    expect(Buffer.from(kept.inline, 'base64').toString()).toMatch(/^meshca-sealed:v1:/)
    const opened = await loadDataSource(h.core.ctx, 'm1', kept)
    expect(Buffer.from(opened).toString()).toBe(ca.keyPem)

    // inlineString is masked the same way.
    expect((await h.put('/meshes/m1', mesh({ inlineString: ca.keyPem }))).status).toBe(200)
    expect(withoutTimes(await json(await h.get('/meshes/m1')))).toEqual(
      mesh({ inlineString: '***' })
    )

    // *** with nothing stored to keep is refused, not stored.
    const response = await h.put('/meshes/m2', { ...masked, name: 'm2' })
    expect(response.status).toBe(400)
    expect((await errorBody(response)).causes).toEqual([
      {
        field: 'mtls.backends[0].conf.key.inline',
        message:
          '"***" keeps the stored key of backend "ca-1", but it has no stored inline key: send the key itself',
      },
    ])
  })

  it('takes allowUnsafeBackendSwitch as true or false only', async () => {
    const h = createHarness()
    await h.put('/meshes/m1', builtin('m1', ['ca-1', 'ca-2']))
    const switched = {
      ...builtin('m1', ['ca-1', 'ca-2']),
      mtls: { ...builtin('m1', ['ca-1', 'ca-2']).mtls, enabledBackend: 'ca-2' },
    }
    const bad = await h.put('/meshes/m1?allowUnsafeBackendSwitch=yes', switched)
    expect(bad.status).toBe(400)
    expect((await errorBody(bad)).causes).toEqual([
      { field: 'allowUnsafeBackendSwitch', message: 'has to be true or false' },
    ])
    // No data plane is online, so the switch is safe even without the override.
    expect((await h.put('/meshes/m1?allowUnsafeBackendSwitch=true', switched)).status).toBe(200)
  })

  it('refuses an unsafe CA switch unless overridden', async () => {
    const h = createHarness()
    const mesh = builtin('m1', ['ca-1', 'ca-2'])
    await h.put('/meshes/m1', mesh)
    // An online data plane that only trusts ca-1, as the rotation daemon would have recorded it.
    await h.core.resources.create({
      type: 'DataplaneInsight',
      mesh: 'm1',
      name: 'dp-1',
      spec: {
        subscriptions: [{ id: 's1', connectTime: new Date().toISOString() }],
        mTLS: { issuedBackend: 'ca-1', supportedBackends: ['ca-1'] },
        other: {},
      },
    })
    const switched = { ...mesh, mtls: { ...mesh.mtls, enabledBackend: 'ca-2' } }
    const refused = await h.put('/meshes/m1', switched)
    expect(refused.status).toBe(400)
    expect((await errorBody(refused)).causes?.[0]?.field).toBe('mtls.enabledBackend')
    expect((await h.put('/meshes/m1?allowUnsafeBackendSwitch=true', switched)).status).toBe(200)
  })
})
