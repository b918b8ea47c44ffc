import type { DataplaneSpec, StoreEvent } from '@meshca/core-mtls'
import { describe, expect, it } from 'vitest'
import type { TokenClaims } from './dataplane-auth.ts'
import {
  CA_SECRET_CHANGED,
  dataplaneChangeOutcome,
  MESH_MTLS_CHANGED,
  type MeshChangeFacts,
  selectMeshReissues,
  storeChangeOf,
} from './reissue-selection.ts'

function event(type: StoreEvent['key']['type'], mesh: string, name: string): StoreEvent {
  return { action: 'update', key: { type, mesh, name } }
}

/** This instance holds sessions of `web` in mesh `default` only. */
const open = {
  hasMesh: (mesh: string) => mesh === 'default',
  hasDataplane: (mesh: string, name: string) => mesh === 'default' && name === 'web',
}

describe('storeChangeOf', () => {
  it('takes every Mesh event, even for a mesh without sessions here', () => {
    expect(storeChangeOf(event('Mesh', '', 'default'), open)).toEqual({
      kind: 'mesh',
      mesh: 'default',
    })
    expect(storeChangeOf(event('Mesh', '', 'other'), open)).toEqual({ kind: 'mesh', mesh: 'other' })
  })

  it('takes a Secret as a change of its mesh, only when that mesh has sessions here', () => {
    expect(storeChangeOf(event('Secret', 'default', 'ca-key'), open)).toEqual({
      kind: 'mesh',
      mesh: 'default',
      secret: 'ca-key',
    })
    expect(storeChangeOf(event('Secret', 'other', 'ca-key'), open)).toBeUndefined()
  })

  it('takes a Dataplane only when that data plane has a session here', () => {
    expect(storeChangeOf(event('Dataplane', 'default', 'web'), open)).toEqual({
      kind: 'dataplane',
      mesh: 'default',
      name: 'web',
    })
    expect(storeChangeOf(event('Dataplane', 'default', 'backend'), open)).toBeUndefined()
    expect(storeChangeOf(event('Dataplane', 'other', 'web'), open)).toBeUndefined()
  })

  it('ignores a TrafficPermission (identities do not depend on it)', () => {
    expect(storeChangeOf(event('TrafficPermission', 'default', 'allow-all'), open)).toBeUndefined()
  })
})

describe('selectMeshReissues', () => {
  const sessions = [
    { id: 'a', mesh: 'default', mtlsKey: 'old' },
    { id: 'b', mesh: 'default', mtlsKey: 'new' },
    { id: 'c', mesh: 'other', mtlsKey: 'old' },
  ]
  const ids = (list: readonly { readonly id: string }[]) => list.map((s) => s.id)
  /** A change of mesh `default` to the settings `new`, which the watch had already seen. */
  const facts = (change: Partial<MeshChangeFacts>): MeshChangeFacts => ({
    mesh: 'default',
    mtlsKey: 'new',
    lastSeenMtlsKey: 'new',
    caSecretChanged: false,
    ...change,
  })

  it('on an mTLS change, re-issues the sessions of the mesh issued under other settings', () => {
    const selected = selectMeshReissues(sessions, facts({ lastSeenMtlsKey: 'old' }))
    expect(ids(selected.targets)).toEqual(['a'])
    expect(selected.advanceEpoch).toBe(true)
    expect(selected.reason).toBe(MESH_MTLS_CHANGED)
  })

  it('on a CA Secret change, re-issues every session of the mesh, and only of that mesh', () => {
    const selected = selectMeshReissues(sessions, facts({ caSecretChanged: true }))
    expect(ids(selected.targets)).toEqual(['a', 'b'])
    expect(selected.advanceEpoch).toBe(true)
    expect(selected.reason).toBe(CA_SECRET_CHANGED)
  })

  it('leaves the data planes of another mesh alone', () => {
    const selected = selectMeshReissues(
      sessions,
      facts({ mesh: 'third', lastSeenMtlsKey: 'old', caSecretChanged: true })
    )
    expect(selected.targets).toEqual([])
  })

  it('changes nothing when the settings are those already seen and a Secret is not a CA one', () => {
    const selected = selectMeshReissues(
      sessions.filter((s) => s.id === 'b'),
      facts({})
    )
    expect(selected.targets).toEqual([])
    expect(selected.advanceEpoch).toBe(false)
  })

  it('moves the epoch of a mesh whose settings changed even without a session to re-issue', () => {
    const first = selectMeshReissues([], facts({ lastSeenMtlsKey: undefined }))
    expect(first.advanceEpoch).toBe(true)
    const same = selectMeshReissues([], facts({}))
    expect(same.advanceEpoch).toBe(false)
  })

  it('moves the epoch when a session lags behind settings the watch had already seen', () => {
    const selected = selectMeshReissues(sessions, facts({}))
    expect(ids(selected.targets)).toEqual(['a'])
    expect(selected.advanceEpoch).toBe(true)
  })
})

describe('dataplaneChangeOutcome', () => {
  function dataplane(version: string): DataplaneSpec {
    return {
      networking: {
        address: '10.0.0.1',
        inbound: [{ tags: { 'kuma.io/service': 'web', version }, other: {} }],
        other: {},
      },
      other: {},
    }
  }
  const anyTags: TokenClaims = { name: 'web', mesh: 'default', tags: {}, type: 'dataplane' }

  it('re-issues when the tags (the SANs) changed', () => {
    const session = { claims: anyTags, dataplane: dataplane('v1') }
    expect(dataplaneChangeOutcome(session, 'default', 'web', dataplane('v2'))).toEqual({
      end: false,
      reissue: true,
    })
  })

  it('keeps the identity when the tags did not change', () => {
    const session = { claims: anyTags, dataplane: dataplane('v1') }
    expect(dataplaneChangeOutcome(session, 'default', 'web', dataplane('v1'))).toEqual({
      end: false,
      reissue: false,
    })
  })

  it('ends the session, with a 403 reason, when the token no longer allows the tags', () => {
    const claims: TokenClaims = { ...anyTags, tags: { version: ['v1'] } }
    const outcome = dataplaneChangeOutcome(
      { claims, dataplane: dataplane('v1') },
      'default',
      'web',
      dataplane('v2')
    )
    expect(outcome.end).toBe(true)
    expect(outcome.end && outcome.error?.code).toBe('FORBIDDEN')
  })
})
