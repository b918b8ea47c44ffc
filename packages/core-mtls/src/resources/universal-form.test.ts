import { describe, expect, it } from 'vitest'
import { isMeshcaError, type MeshcaError } from '../errors.ts'
import { utf8 } from '../util/bytes.ts'
import type { AnyResource } from './resource.ts'
import { decodeUniversal, encodeUniversal } from './universal-form.ts'

function violationsOf(obj: unknown) {
  try {
    decodeUniversal(obj)
  } catch (error) {
    expect(isMeshcaError(error, 'INVALID')).toBe(true)
    return (error as MeshcaError).violations
  }
  throw new Error('expected decodeUniversal to throw')
}

describe('decodeUniversal', () => {
  it('reads a mesh-scoped resource with spec fields at the top level', () => {
    expect(decodeUniversal({ type: 'Secret', name: 's', mesh: 'default', data: 'aGk=' })).toEqual({
      type: 'Secret',
      name: 's',
      mesh: 'default',
      spec: { data: utf8('hi') },
    })
  })

  it('gives global resources an empty mesh and ignores a stray one', () => {
    const mesh = decodeUniversal({ type: 'Mesh', name: 'm', mesh: 'x', routing: {} })
    expect(mesh).toEqual({ type: 'Mesh', name: 'm', mesh: '', spec: { other: { routing: {} } } })
  })

  it('ignores the times the HTTP API adds', () => {
    const mesh = decodeUniversal({
      type: 'Mesh',
      name: 'm',
      creationTime: '2024-01-01T00:00:00Z',
      modificationTime: '2024-01-01T00:00:00Z',
    })
    expect(mesh.spec).toEqual({ other: {} })
  })

  it('leaves a missing name or mesh empty for validation to report', () => {
    expect(decodeUniversal({ type: 'TrafficPermission' })).toMatchObject({ name: '', mesh: '' })
  })

  it('rejects a missing or unknown type', () => {
    expect(violationsOf({ name: 'x' })).toEqual([{ field: 'type', message: 'cannot be empty' }])
    expect(violationsOf({ type: 'MeshTrafficPermission', name: 'x' })).toEqual([
      {
        field: 'type',
        message:
          'has invalid value. Allowed values: Mesh, Secret, Dataplane, DataplaneInsight, TrafficPermission, MeshInsight',
      },
    ])
  })

  it('reports meta and spec type errors together', () => {
    expect(violationsOf({ type: 'Mesh', name: 3, mtls: { enabledBackend: [] } })).toEqual([
      { field: 'name', message: 'must be a string' },
      { field: 'mtls.enabledBackend', message: 'must be a string' },
    ])
  })

  it('rejects what is not an object', () => {
    expect(violationsOf('type: Mesh')).toEqual([{ field: '', message: 'must be an object' }])
    expect(violationsOf(null)).toEqual([{ field: '', message: 'must be an object' }])
  })
})

describe('encodeUniversal', () => {
  it('writes type, name, mesh then the spec', () => {
    const resource: AnyResource = {
      type: 'TrafficPermission',
      name: 'tp',
      mesh: 'default',
      spec: {
        sources: [{ match: { 'kuma.io/service': '*' } }],
        destinations: [{ match: { 'kuma.io/service': 'web' } }],
        other: {},
      },
    }
    const out = encodeUniversal(resource)
    expect(Object.keys(out)).toEqual(['type', 'name', 'mesh', 'sources', 'destinations'])
    expect(decodeUniversal(out)).toEqual(resource)
  })

  it('has no mesh for global types', () => {
    expect(encodeUniversal({ type: 'Mesh', name: 'm', mesh: '', spec: { other: {} } })).toEqual({
      type: 'Mesh',
      name: 'm',
    })
  })

  it('adds the store times when the resource has them', () => {
    const at = new Date('2024-04-05T10:00:00.000Z')
    const out = encodeUniversal({
      type: 'Secret',
      name: 's',
      mesh: 'default',
      spec: { data: utf8('x') },
      meta: { version: '1', creationTime: at, modificationTime: at },
    })
    expect(out).toEqual({
      type: 'Secret',
      name: 's',
      mesh: 'default',
      creationTime: '2024-04-05T10:00:00.000Z',
      modificationTime: '2024-04-05T10:00:00.000Z',
      data: 'eA==',
    })
  })
})
