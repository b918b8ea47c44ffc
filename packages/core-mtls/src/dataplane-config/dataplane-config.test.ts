import { describe, expect, it } from 'vitest'
import { inboundPolicy, policyAllows } from '../authz/inbound-policy.ts'
import { defaultTrafficPermission, type TrafficPermission } from '../authz/traffic-permission.ts'
import type { DataplaneSpec } from '../resources/dataplane.ts'
import { readOutbounds } from '../resources/dataplane-outbounds.ts'
import { validateDataplaneSpec } from '../resources/dataplane-validator.ts'
import type { MeshSpec } from '../resources/mesh.ts'
import type { JsonObject } from '../resources/types.ts'
import { dataplaneConfig, indexMesh, type MeshMember } from './dataplane-config.ts'
import { sniFromTags } from './sni.ts'

function dataplane(
  address: string,
  inbounds: { port: number; service: string; other?: JsonObject; servicePort?: number }[],
  outbound?: unknown
): DataplaneSpec {
  return {
    networking: {
      address,
      inbound: inbounds.map((i) => ({
        port: i.port,
        ...(i.servicePort === undefined ? {} : { servicePort: i.servicePort }),
        tags: { 'kuma.io/service': i.service, version: 'v1' },
        other: i.other ?? {},
      })),
      other: outbound === undefined ? {} : { outbound: outbound as JsonObject[] },
    },
    other: {},
  }
}

const strict: MeshSpec = {
  mtls: { enabledBackend: 'ca-1', backends: [{ name: 'ca-1', type: 'builtin' }] },
  other: {},
}
const permissive: MeshSpec = {
  mtls: {
    enabledBackend: 'ca-1',
    backends: [{ name: 'ca-1', type: 'builtin', mode: 'PERMISSIVE' }],
  },
  other: {},
}

function permission(name: string, source: Record<string, string>, dest: string): TrafficPermission {
  return {
    type: 'TrafficPermission',
    name,
    mesh: 'default',
    spec: {
      sources: [{ match: source }],
      destinations: [{ match: { 'kuma.io/service': dest } }],
      other: {},
    },
  }
}

const web = dataplane(
  '10.0.0.1',
  [{ port: 8080, service: 'web' }],
  [
    { port: 10001, tags: { 'kuma.io/service': 'backend' } },
    { port: 10002, address: '127.0.0.2', tags: { 'kuma.io/service': 'db', version: 'v2' } },
  ]
)
const backend1 = dataplane('10.0.0.2', [{ port: 9090, service: 'backend' }])
const backend2 = dataplane('10.0.0.3', [{ port: 9091, service: 'backend' }])

function members(issued: string | undefined, online2 = true): MeshMember[] {
  return [
    { name: 'web-1', spec: web, online: true, ...(issued ? { issuedBackend: issued } : {}) },
    {
      name: 'backend-2',
      spec: backend2,
      online: online2,
      ...(issued ? { issuedBackend: issued } : {}),
    },
    {
      name: 'backend-1',
      spec: backend1,
      online: true,
      ...(issued ? { issuedBackend: issued } : {}),
    },
  ]
}

describe('dataplaneConfig', () => {
  it('gives each inbound its listener, application and the most specific permission', () => {
    const index = indexMesh({
      mesh: 'default',
      spec: strict,
      permissions: [
        defaultTrafficPermission('default'),
        permission('web-only', { 'kuma.io/service': 'web' }, 'backend'),
      ],
      members: members('ca-1'),
    })
    const config = dataplaneConfig(index, 'backend-1', backend1)
    expect(config.mtls).toEqual({ enabled: true, backend: 'ca-1', mode: 'STRICT' })
    expect(config.inbounds).toEqual([
      {
        address: '10.0.0.2',
        port: 9090,
        serviceAddress: '127.0.0.1',
        servicePort: 9090,
        tags: { 'kuma.io/service': 'backend', version: 'v1' },
        policy: { permission: 'web-only', principals: [['spiffe://default/web']] },
      },
    ])
    const webConfig = dataplaneConfig(index, 'web-1', web)
    expect(webConfig.inbounds[0]?.policy).toEqual({
      permission: 'allow-all-default',
      principals: [[]],
    })
  })

  it('takes serviceAddress and servicePort from the inbound', () => {
    const spec = dataplane('10.0.0.9', [
      { port: 80, servicePort: 8000, service: 'api', other: { serviceAddress: '127.0.0.5' } },
    ])
    const index = indexMesh({ mesh: 'default', spec: strict, permissions: [], members: [] })
    const [inbound] = dataplaneConfig(index, 'api-1', spec).inbounds
    expect(inbound).toMatchObject({
      address: '10.0.0.9',
      port: 80,
      serviceAddress: '127.0.0.5',
      servicePort: 8000,
      policy: null,
    })
  })

  it('lists the online endpoints of each outbound service, in name order', () => {
    const index = indexMesh({
      mesh: 'default',
      spec: strict,
      permissions: [],
      members: members('ca-1', false),
    })
    const [toBackend, toDb] = dataplaneConfig(index, 'web-1', web).outbounds
    expect(toBackend).toEqual({
      address: '127.0.0.1',
      port: 10001,
      service: 'backend',
      tags: { 'kuma.io/service': 'backend' },
      sni: 'backend{mesh=default}',
      identity: 'spiffe://default/backend',
      tlsReady: true,
      endpoints: [
        {
          address: '10.0.0.2',
          port: 9090,
          dataplane: 'backend-1',
          tags: { 'kuma.io/service': 'backend', version: 'v1' },
        },
      ],
    })
    expect(toDb).toMatchObject({
      address: '127.0.0.2',
      sni: 'db{mesh=default,version=v2}',
      endpoints: [],
      tlsReady: false,
    })
    const both = indexMesh({
      mesh: 'default',
      spec: strict,
      permissions: [],
      members: members('ca-1'),
    })
    expect(
      dataplaneConfig(both, 'web-1', web).outbounds[0]?.endpoints.map((e) => e.dataplane)
    ).toEqual(['backend-1', 'backend-2'])
  })

  it('is TLS-ready only when every online endpoint holds a certificate of the enabled backend', () => {
    const mixed = members('ca-1').map((m) =>
      m.name === 'backend-2' ? { ...m, issuedBackend: 'ca-0' } : m
    )
    const index = indexMesh({ mesh: 'default', spec: permissive, permissions: [], members: mixed })
    expect(index.mtls).toEqual({ enabled: true, backend: 'ca-1', mode: 'PERMISSIVE' })
    expect(dataplaneConfig(index, 'web-1', web).outbounds[0]?.tlsReady).toBe(false)
    const off = indexMesh({
      mesh: 'default',
      spec: { other: {} },
      permissions: [],
      members: members(undefined),
    })
    expect(off.mtls).toEqual({ enabled: false })
    expect(dataplaneConfig(off, 'web-1', web).outbounds[0]?.tlsReady).toBe(false)
  })
})

describe('policyAllows', () => {
  const permissions = [
    permission('tagged', { 'kuma.io/service': 'web', version: 'v2' }, 'backend'),
    permission('any-v1', { 'kuma.io/service': '*', version: 'v1' }, 'backend'),
  ]
  it('ANDs the tags of a selector and ORs the selectors', () => {
    const tp: TrafficPermission = {
      ...permission('both', {}, 'backend'),
      spec: {
        sources: permissions.flatMap((p) => p.spec.sources),
        destinations: [{ match: { 'kuma.io/service': 'backend' } }],
        other: {},
      },
    }
    const policy = inboundPolicy('default', [tp], { 'kuma.io/service': 'backend' })
    expect(policy?.principals).toEqual([
      ['spiffe://default/web', 'kuma://version/v2'],
      ['kuma://version/v1'],
    ])
    expect(policyAllows(policy, new Set(['spiffe://default/web', 'kuma://version/v2']))).toBe(true)
    expect(policyAllows(policy, new Set(['spiffe://default/web']))).toBe(false)
    expect(policyAllows(policy, new Set(['spiffe://default/other', 'kuma://version/v1']))).toBe(
      true
    )
  })
  it('denies everything when no permission matches', () => {
    const policy = inboundPolicy('default', permissions, { 'kuma.io/service': 'db' })
    expect(policy).toBeNull()
    expect(policyAllows(policy, new Set(['spiffe://default/web']))).toBe(false)
  })
  it('ignores permissions of other meshes', () => {
    const other = { ...defaultTrafficPermission('other') }
    expect(inboundPolicy('default', [other], { 'kuma.io/service': 'db' })).toBeNull()
  })
})

describe('sniFromTags', () => {
  it('builds Kuma SNIs', () => {
    expect(sniFromTags({ 'kuma.io/service': 'backend' })).toBe('backend')
    expect(sniFromTags({ 'kuma.io/service': 'backend', mesh: 'default', version: 'v1' })).toBe(
      'backend{mesh=default,version=v1}'
    )
  })
})

describe('outbounds', () => {
  it('reads the deprecated service field and reports bad outbounds with Kuma paths', () => {
    const spec = dataplane(
      '10.0.0.1',
      [{ port: 80, service: 'web' }],
      [
        { port: 1, service: 'legacy' },
        { port: 0, tags: { 'kuma.io/service': 'a' } },
        { port: 2, address: 'nope', tags: { version: 'v1' } },
        { port: 3 },
        'x',
      ]
    )
    const { outbounds, violations } = readOutbounds(spec)
    expect(outbounds).toEqual([{ port: 1, tags: { 'kuma.io/service': 'legacy' } }])
    expect(violations).toEqual([
      { field: 'networking.outbound[1].port', message: 'port must be in the range [1, 65535]' },
      { field: 'networking.outbound[2].address', message: 'address has to be valid IP address' },
      { field: 'networking.outbound[2].tags["kuma.io/service"]', message: 'tag has to exist' },
      { field: 'networking.outbound[3].tags["kuma.io/service"]', message: 'cannot be empty' },
      { field: 'networking.outbound[4]', message: 'must be an object' },
    ])
    expect(validateDataplaneSpec(spec)).toEqual(violations)
  })
  it('bounds the number of outbounds', () => {
    const many = Array.from({ length: 1001 }, (_, i) => ({
      port: 1 + i,
      tags: { 'kuma.io/service': 's' },
    }))
    const reading = readOutbounds(dataplane('10.0.0.1', [{ port: 80, service: 'web' }], many))
    expect(reading.outbounds).toEqual([])
    expect(reading.violations).toEqual([
      { field: 'networking.outbound', message: 'must have at most 1000 items' },
    ])
  })
  it('checks serviceAddress', () => {
    const spec = dataplane('10.0.0.1', [
      { port: 80, service: 'web', other: { serviceAddress: 'localhost' } },
    ])
    expect(validateDataplaneSpec(spec)).toEqual([
      {
        field: 'networking.inbound[0].serviceAddress',
        message: 'serviceAddress has to be valid IP address',
      },
    ])
  })
})
