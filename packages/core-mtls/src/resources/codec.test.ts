import { describe, expect, it } from 'vitest'
import { isMeshcaError, type MeshcaError } from '../errors.ts'
import { utf8 } from '../util/bytes.ts'
import { specFromJson, specToJson } from './codec.ts'
import type { ResourceType } from './types.ts'

function violationsOf(type: ResourceType, json: unknown, path?: string) {
  try {
    specFromJson(type, json, path)
  } catch (error) {
    expect(isMeshcaError(error, 'INVALID')).toBe(true)
    return (error as MeshcaError).violations
  }
  throw new Error('expected specFromJson to throw')
}

describe('Mesh spec', () => {
  const json = {
    mtls: {
      enabledBackend: 'ca-1',
      backends: [
        {
          name: 'ca-1',
          type: 'builtin',
          dpCert: { rotation: { expiration: '1d' }, requestTimeout: '10s', keyType: 'ECDSA_P256' },
          conf: { caCert: { RSAbits: 2048, expiration: '10y' } },
          mode: 'PERMISSIVE',
          rootChain: { requestTimeout: '5s' },
        },
      ],
    },
    logging: { backends: [{ name: 'file', type: 'file', conf: { path: '/tmp/x' } }] },
    routing: { zoneEgress: true },
  }

  it('types mtls and keeps every other field verbatim', () => {
    const spec = specFromJson('Mesh', json)
    expect(spec).toEqual({
      mtls: {
        enabledBackend: 'ca-1',
        backends: [
          {
            name: 'ca-1',
            type: 'builtin',
            mode: 'PERMISSIVE',
            dpCert: {
              rotation: { expiration: '1d' },
              requestTimeout: '10s',
              keyType: 'ECDSA_P256',
            },
            conf: { caCert: { RSAbits: 2048, expiration: '10y' } },
            rootChain: { requestTimeout: '5s' },
          },
        ],
      },
      other: {
        logging: { backends: [{ name: 'file', type: 'file', conf: { path: '/tmp/x' } }] },
        routing: { zoneEgress: true },
      },
    })
  })

  it('round-trips to the same JSON, in mesh.proto field order', () => {
    const out = specToJson('Mesh', specFromJson('Mesh', json))
    expect(out).toEqual(json)
    const backend = (out.mtls as { backends: Record<string, unknown>[] }).backends[0] ?? {}
    expect(Object.keys(backend)).toEqual(['name', 'type', 'dpCert', 'conf', 'mode', 'rootChain'])
  })

  it('accepts the mode as a proto enum number and writes the name back', () => {
    const spec = specFromJson('Mesh', {
      mtls: { backends: [{ name: 'a', type: 'builtin', mode: 1 }] },
    })
    expect(spec.mtls?.backends?.[0]?.mode).toBe('PERMISSIVE')
    expect(specToJson('Mesh', spec)).toEqual({
      mtls: { backends: [{ name: 'a', type: 'builtin', mode: 'PERMISSIVE' }] },
    })
  })

  it.each(['STRICT', 0])('treats mode %j as the default and omits it on output', (mode) => {
    const spec = specFromJson('Mesh', {
      mtls: { backends: [{ name: 'a', type: 'builtin', mode }] },
    })
    expect(spec.mtls?.backends?.[0]).toEqual({ name: 'a', type: 'builtin' })
    expect(specToJson('Mesh', spec)).toEqual({
      mtls: { backends: [{ name: 'a', type: 'builtin' }] },
    })
  })

  it('omits STRICT set in code', () => {
    const out = specToJson('Mesh', {
      mtls: { backends: [{ name: 'a', type: 'builtin', mode: 'STRICT' }] },
      other: {},
    })
    expect(out).toEqual({ mtls: { backends: [{ name: 'a', type: 'builtin' }] } })
  })

  it('keeps an empty dpCert, which validation must see', () => {
    const spec = specFromJson('Mesh', {
      mtls: { backends: [{ name: 'a', type: 'b', dpCert: {} }] },
    })
    expect(spec.mtls?.backends?.[0]?.dpCert).toEqual({})
    expect(specToJson('Mesh', spec)).toEqual({
      mtls: { backends: [{ name: 'a', type: 'b', dpCert: {} }] },
    })
  })

  it('drops unknown fields inside mtls as protobuf JSON does, and treats null as absent', () => {
    const spec = specFromJson('Mesh', {
      mtls: {
        enabledBackend: null,
        skipValidation: true,
        backends: [{ name: 'a', type: 'builtin', typo: 1, dpCert: null }],
      },
    })
    expect(spec).toEqual({ mtls: { backends: [{ name: 'a', type: 'builtin' }] }, other: {} })
  })

  it('reports every wrong JSON type with its field path', () => {
    expect(
      violationsOf('Mesh', {
        mtls: {
          enabledBackend: 7,
          backends: [
            { name: 'ok', type: 'builtin' },
            {
              name: 1,
              type: ['builtin'],
              mode: 'LAX',
              dpCert: { rotation: { expiration: 24 }, keyType: 'RSA_1024' },
              conf: 'x',
              rootChain: [],
            },
            'nope',
          ],
        },
      })
    ).toEqual([
      { field: 'mtls.enabledBackend', message: 'must be a string' },
      { field: 'mtls.backends[1].name', message: 'must be a string' },
      { field: 'mtls.backends[1].type', message: 'must be a string' },
      {
        field: 'mtls.backends[1].mode',
        message: 'has invalid value. Allowed values: STRICT, PERMISSIVE',
      },
      { field: 'mtls.backends[1].dpCert.rotation.expiration', message: 'must be a string' },
      {
        field: 'mtls.backends[1].dpCert.keyType',
        message:
          'has invalid value. Allowed values: RSA_2048, RSA_3072, RSA_4096, ECDSA_P256, ECDSA_P384, ED25519',
      },
      { field: 'mtls.backends[1].conf', message: 'must be an object' },
      { field: 'mtls.backends[1].rootChain', message: 'must be an object' },
      { field: 'mtls.backends[2]', message: 'must be an object' },
    ])
  })

  it('roots paths under the given prefix', () => {
    expect(violationsOf('Mesh', { mtls: { backends: [{ name: false }] } }, 'spec')).toEqual([
      { field: 'spec.mtls.backends[0].name', message: 'must be a string' },
    ])
  })

  it('rejects a spec that is not an object', () => {
    expect(violationsOf('Mesh', 'mtls', 'spec')).toEqual([
      { field: 'spec', message: 'must be an object' },
    ])
    expect(violationsOf('Mesh', [])).toEqual([{ field: '', message: 'must be an object' }])
  })

  it('rejects values JSON cannot hold in kept fields', () => {
    expect(violationsOf('Mesh', { tracing: { sampling: Number.POSITIVE_INFINITY } })).toEqual([
      { field: 'tracing.sampling', message: 'must be a finite number' },
    ])
  })

  it('keeps a __proto__ key as data', () => {
    const json = JSON.parse('{"metrics": {"__proto__": {"x": 1}}}') as unknown
    const spec = specFromJson('Mesh', json)
    const metrics = spec.other.metrics as Record<string, unknown>
    expect(Object.hasOwn(metrics, '__proto__')).toBe(true)
    expect(Object.getPrototypeOf(metrics)).toBe(Object.prototype)
  })
})

describe('Secret spec', () => {
  it('decodes base64 data to bytes and back', () => {
    const spec = specFromJson('Secret', { data: 'aGVsbG8=' })
    expect(spec.data).toEqual(utf8('hello'))
    expect(specToJson('Secret', spec)).toEqual({ data: 'aGVsbG8=' })
  })

  it('reads missing data as empty bytes', () => {
    expect(specFromJson('Secret', {}).data).toHaveLength(0)
  })

  it('reports invalid base64 at data', () => {
    expect(violationsOf('Secret', { data: 'not base64!' })).toEqual([
      { field: 'data', message: 'must be valid base64' },
    ])
    expect(violationsOf('Secret', { data: 12 })).toEqual([
      { field: 'data', message: 'must be a string' },
    ])
  })
})

describe('Dataplane spec', () => {
  const json = {
    networking: {
      address: '192.168.0.1',
      inbound: [
        {
          port: 8080,
          servicePort: 7070,
          tags: { 'kuma.io/service': 'backend', version: 'v1' },
          health: { ready: true },
        },
      ],
      outbound: [{ port: 3333, tags: { 'kuma.io/service': 'redis' } }],
      transparentProxying: { redirectPortInbound: 15006 },
    },
    metrics: { type: 'prometheus' },
  }

  it('types address, inbounds and tags and keeps the rest at its level', () => {
    const spec = specFromJson('Dataplane', json)
    expect(spec).toEqual({
      networking: {
        address: '192.168.0.1',
        inbound: [
          {
            port: 8080,
            servicePort: 7070,
            tags: { 'kuma.io/service': 'backend', version: 'v1' },
            other: { health: { ready: true } },
          },
        ],
        other: {
          outbound: [{ port: 3333, tags: { 'kuma.io/service': 'redis' } }],
          transparentProxying: { redirectPortInbound: 15006 },
        },
      },
      other: { metrics: { type: 'prometheus' } },
    })
    expect(specToJson('Dataplane', spec)).toEqual(json)
  })

  it('reads a gateway, its type as name or number, DELEGATED being the default', () => {
    const builtin = specFromJson('Dataplane', {
      networking: { address: '10.0.0.1', gateway: { type: 1, tags: { 'kuma.io/service': 'gw' } } },
    })
    expect(builtin.networking.gateway).toEqual({
      type: 'BUILTIN',
      tags: { 'kuma.io/service': 'gw' },
      other: {},
    })
    const delegated = specFromJson('Dataplane', {
      networking: { address: '10.0.0.1', gateway: { type: 'DELEGATED', tags: {} } },
    })
    expect(delegated.networking.gateway).toEqual({ tags: {}, other: {} })
    expect(specToJson('Dataplane', builtin)).toEqual({
      networking: {
        address: '10.0.0.1',
        gateway: { tags: { 'kuma.io/service': 'gw' }, type: 'BUILTIN' },
      },
    })
  })

  it('reports wrong types with paths', () => {
    expect(
      violationsOf('Dataplane', {
        networking: {
          address: 1,
          inbound: [{ port: '80', tags: { 'kuma.io/service': 'a', version: 2 } }],
          gateway: { type: 'SIDECAR' },
        },
      })
    ).toEqual([
      { field: 'networking.address', message: 'must be a string' },
      { field: 'networking.inbound[0].port', message: 'must be an integer' },
      { field: 'networking.inbound[0].tags["version"]', message: 'must be a string' },
      {
        field: 'networking.gateway.type',
        message: 'has invalid value. Allowed values: DELEGATED, BUILTIN',
      },
    ])
  })
})

describe('TrafficPermission spec', () => {
  it('round-trips selectors', () => {
    const json = {
      sources: [{ match: { 'kuma.io/service': 'web', version: 'v1' } }],
      destinations: [{ match: { 'kuma.io/service': '*' } }],
    }
    const spec = specFromJson('TrafficPermission', json)
    expect(spec).toEqual({ ...json, other: {} })
    expect(specToJson('TrafficPermission', spec)).toEqual(json)
  })

  it('reports a selector value that is not a string', () => {
    expect(
      violationsOf('TrafficPermission', {
        sources: [{ match: { 'kuma.io/service': 1 } }],
        destinations: {},
      })
    ).toEqual([
      { field: 'sources[0].match["kuma.io/service"]', message: 'must be a string' },
      { field: 'destinations', message: 'must be an array' },
    ])
  })
})

describe('DataplaneInsight spec', () => {
  it('types mTLS and keeps subscriptions', () => {
    const json = {
      subscriptions: [{ id: '1', controlPlaneInstanceId: 'cp-1' }],
      mTLS: {
        certificateExpirationTime: '2020-05-13T20:15:23Z',
        lastCertificateRegeneration: '2020-05-12T20:15:23.994549539Z',
        certificateRegenerations: 3,
        issuedBackend: 'ca-1',
        supportedBackends: ['ca-1', 'ca-2'],
      },
    }
    const spec = specFromJson('DataplaneInsight', json)
    expect(spec.mTLS?.certificateRegenerations).toBe(3)
    expect(spec.other).toEqual({})
    expect(specToJson('DataplaneInsight', spec)).toEqual(json)
  })

  it('reports wrong types in mTLS', () => {
    expect(
      violationsOf('DataplaneInsight', {
        mTLS: { certificateRegenerations: 1.5, supportedBackends: [1] },
      })
    ).toEqual([
      { field: 'mTLS.certificateRegenerations', message: 'must be an integer' },
      { field: 'mTLS.supportedBackends[0]', message: 'must be a string' },
    ])
  })
})

describe('MeshInsight spec', () => {
  it('types the counts, filling zeros that proto3 JSON leaves out', () => {
    const spec = specFromJson('MeshInsight', {
      dataplanes: { total: 2, online: 2 },
      mTLS: { issuedBackends: { 'ca-1': { total: 2, online: 1, offline: 1 } } },
      policies: { TrafficPermission: { total: 1 } },
    })
    expect(spec).toEqual({
      dataplanes: { total: 2, online: 2, offline: 0, partiallyDegraded: 0 },
      mTLS: {
        issuedBackends: { 'ca-1': { total: 2, online: 1, offline: 1, partiallyDegraded: 0 } },
        supportedBackends: {},
      },
      other: { policies: { TrafficPermission: { total: 1 } } },
    })
    expect(specFromJson('MeshInsight', specToJson('MeshInsight', spec))).toEqual(spec)
  })

  it('reports a bad count under its backend key', () => {
    expect(
      violationsOf('MeshInsight', { mTLS: { supportedBackends: { 'ca-1': { total: -1.5 } } } })
    ).toEqual([{ field: 'mTLS.supportedBackends["ca-1"].total', message: 'must be an integer' }])
  })
})
