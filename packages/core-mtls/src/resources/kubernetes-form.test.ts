import { describe, expect, it } from 'vitest'
import { isMeshcaError, type MeshcaError } from '../errors.ts'
import { utf8 } from '../util/bytes.ts'
import { decodeKubernetes, encodeKubernetes } from './kubernetes-form.ts'
import type { AnyResource } from './resource.ts'

function violationsOf(obj: unknown) {
  try {
    decodeKubernetes(obj)
  } catch (error) {
    expect(isMeshcaError(error, 'INVALID')).toBe(true)
    return (error as MeshcaError).violations
  }
  throw new Error('expected decodeKubernetes to throw')
}

const secretObject = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'sec-1', namespace: 'kuma-system', labels: { 'kuma.io/mesh': 'demo' } },
  type: 'system.kuma.io/secret',
  data: { value: 'aGVsbG8=' },
}

describe('decodeKubernetes', () => {
  it('reads a cluster-scoped Mesh', () => {
    expect(
      decodeKubernetes({
        apiVersion: 'kuma.io/v1alpha1',
        kind: 'Mesh',
        metadata: { name: 'default' },
        spec: { mtls: { enabledBackend: 'ca-1', backends: [{ name: 'ca-1', type: 'builtin' }] } },
      })
    ).toEqual({
      type: 'Mesh',
      name: 'default',
      mesh: '',
      spec: {
        mtls: { enabledBackend: 'ca-1', backends: [{ name: 'ca-1', type: 'builtin' }] },
        other: {},
      },
    })
  })

  it('reads the top-level mesh of a legacy mesh-scoped kind, default when absent', () => {
    const spec = {
      sources: [{ match: { 'kuma.io/service': '*' } }],
      destinations: [{ match: { 'kuma.io/service': '*' } }],
    }
    const base = {
      apiVersion: 'kuma.io/v1alpha1',
      kind: 'TrafficPermission',
      metadata: { name: 'tp' },
      spec,
    }
    expect(decodeKubernetes({ ...base, mesh: 'demo' }).mesh).toBe('demo')
    expect(decodeKubernetes(base).mesh).toBe('default')
  })

  it('reads a Kuma Secret from a core v1 Secret', () => {
    expect(decodeKubernetes(secretObject)).toEqual({
      type: 'Secret',
      name: 'sec-1',
      mesh: 'demo',
      spec: { data: utf8('hello') },
    })
  })

  it('puts a Secret without the mesh label in the default mesh', () => {
    const { labels: _labels, ...metadata } = secretObject.metadata
    expect(decodeKubernetes({ ...secretObject, metadata }).mesh).toBe('default')
  })

  it('honours stringData over data, as Kubernetes does', () => {
    const decoded = decodeKubernetes({ ...secretObject, stringData: { value: 'plain' } })
    expect(decoded.spec).toEqual({ data: utf8('plain') })
  })

  it('reports paths under spec for the spec', () => {
    expect(
      violationsOf({
        apiVersion: 'kuma.io/v1alpha1',
        kind: 'Mesh',
        metadata: { name: 'm' },
        spec: { mtls: { backends: [{ name: 1 }] } },
      })
    ).toEqual([{ field: 'spec.mtls.backends[0].name', message: 'must be a string' }])
  })

  it('rejects secrets of other types and bad payloads', () => {
    expect(violationsOf({ ...secretObject, type: 'Opaque', data: { value: '***' } })).toEqual([
      { field: 'type', message: 'has invalid value. Allowed values: system.kuma.io/secret' },
      { field: 'data.value', message: 'must be valid base64' },
    ])
  })

  it('rejects unknown api versions and kinds', () => {
    expect(violationsOf({ apiVersion: 'apps/v1', kind: 'Deployment' })).toEqual([
      { field: 'apiVersion', message: 'has invalid value. Allowed values: kuma.io/v1alpha1, v1' },
    ])
    expect(violationsOf({ apiVersion: 'v1', kind: 'ConfigMap' })).toEqual([
      { field: 'kind', message: 'has invalid value. Allowed values: Secret' },
    ])
    expect(violationsOf({ apiVersion: 'kuma.io/v1alpha1', kind: 'Secret' })).toEqual([
      {
        field: 'kind',
        message:
          'has invalid value. Allowed values: Mesh, Dataplane, DataplaneInsight, TrafficPermission, MeshInsight',
      },
    ])
  })
})

describe('insights in Kubernetes form', () => {
  it('carries a DataplaneInsight under status, a MeshInsight under spec', () => {
    const dpInsight: AnyResource = {
      type: 'DataplaneInsight',
      name: 'dp-1',
      mesh: 'demo',
      spec: { subscriptions: [], mTLS: { issuedBackend: 'ca-1' }, other: {} },
    }
    const out = encodeKubernetes(dpInsight)
    expect(out).toEqual({
      apiVersion: 'kuma.io/v1alpha1',
      kind: 'DataplaneInsight',
      mesh: 'demo',
      metadata: { name: 'dp-1' },
      status: { mTLS: { issuedBackend: 'ca-1' } },
    })
    expect(decodeKubernetes(out)).toEqual(dpInsight)
    const meshInsight: AnyResource = {
      type: 'MeshInsight',
      name: 'm',
      mesh: '',
      spec: { other: {} },
    }
    expect(encodeKubernetes(meshInsight)).toEqual({
      apiVersion: 'kuma.io/v1alpha1',
      kind: 'MeshInsight',
      metadata: { name: 'm' },
      spec: {},
    })
  })
})

describe('encodeKubernetes', () => {
  it('writes a Secret as a core v1 Secret with the mesh label and data.value', () => {
    const secret: AnyResource = {
      type: 'Secret',
      name: 'sec-1',
      mesh: 'demo',
      spec: { data: utf8('hello') },
    }
    const out = encodeKubernetes(secret, { namespace: 'kuma-system' })
    expect(out).toEqual(secretObject)
    expect(decodeKubernetes(out)).toEqual(secret)
  })

  it('writes Kuma kinds with mesh next to spec, none for Mesh', () => {
    const dataplane: AnyResource = {
      type: 'Dataplane',
      name: 'dp-1',
      mesh: 'demo',
      spec: {
        networking: {
          address: '10.0.0.1',
          inbound: [{ port: 80, tags: { 'kuma.io/service': 'web' }, other: {} }],
          other: {},
        },
        other: {},
      },
    }
    const out = encodeKubernetes(dataplane)
    expect(out).toEqual({
      apiVersion: 'kuma.io/v1alpha1',
      kind: 'Dataplane',
      mesh: 'demo',
      metadata: { name: 'dp-1' },
      spec: {
        networking: {
          address: '10.0.0.1',
          inbound: [{ port: 80, tags: { 'kuma.io/service': 'web' } }],
        },
      },
    })
    expect(decodeKubernetes(out)).toEqual(dataplane)
    const mesh = encodeKubernetes(
      { type: 'Mesh', name: 'm', mesh: '', spec: { other: {} } },
      { namespace: 'x' }
    )
    expect(mesh).toEqual({
      apiVersion: 'kuma.io/v1alpha1',
      kind: 'Mesh',
      metadata: { name: 'm' },
      spec: {},
    })
  })
})
