import { describe, expect, it } from 'vitest'
import type { Selector } from '../resources/traffic-permission.ts'
import { validateResource } from '../resources/validate.ts'
import { isConnectionAllowed } from './inbound-policy.ts'
import {
  compareSelectorRanks,
  defaultTrafficPermission,
  selectorMatches,
  selectorRank,
  selectTrafficPermission,
  sourcePrincipals,
  type TrafficPermission,
} from './traffic-permission.ts'

function permission(
  name: string,
  destinations: Selector['match'][],
  sources: Selector['match'][] = [{ 'kuma.io/service': '*' }],
  createdAt?: string
): TrafficPermission {
  const at = createdAt === undefined ? undefined : new Date(createdAt)
  return {
    type: 'TrafficPermission',
    name,
    mesh: 'default',
    spec: {
      sources: sources.map((match) => ({ match })),
      destinations: destinations.map((match) => ({ match })),
      other: {},
    },
    ...(at === undefined ? {} : { meta: { version: '1', creationTime: at, modificationTime: at } }),
  }
}

const backendV1 = { 'kuma.io/service': 'backend', version: 'v1', 'kuma.io/zone': 'east' }

describe('defaultTrafficPermission', () => {
  it('is allow-all-<mesh>, any service to any service', () => {
    const tp = defaultTrafficPermission('demo')
    expect(tp).toEqual({
      type: 'TrafficPermission',
      name: 'allow-all-demo',
      mesh: 'demo',
      spec: {
        sources: [{ match: { 'kuma.io/service': '*' } }],
        destinations: [{ match: { 'kuma.io/service': '*' } }],
        other: {},
      },
    })
    expect(validateResource(tp)).toEqual([])
  })

  it('allows any client with an identity', () => {
    expect(
      isConnectionAllowed({
        mesh: 'demo',
        permissions: [defaultTrafficPermission('demo')],
        destinationTags: backendV1,
        clientUris: [],
      })
    ).toBe(true)
  })
})

describe('selector ranking', () => {
  it('matches exact values and wildcards, all tags required', () => {
    expect(selectorMatches({ 'kuma.io/service': 'backend' }, backendV1)).toBe(true)
    expect(selectorMatches({ 'kuma.io/service': '*', version: '*' }, backendV1)).toBe(true)
    expect(selectorMatches({ 'kuma.io/service': 'backend', version: 'v2' }, backendV1)).toBe(false)
    expect(selectorMatches({ 'kuma.io/service': 'backend', region: '*' }, backendV1)).toBe(false)
    expect(selectorMatches({}, backendV1)).toBe(true)
  })

  it('ranks by matched tag count first, then by exact values (Kuma CompareTo)', () => {
    const oneExact = selectorRank({ 'kuma.io/service': 'backend' })
    const twoWildcards = selectorRank({ 'kuma.io/service': '*', version: '*' })
    const exactAndWildcard = selectorRank({ 'kuma.io/service': 'backend', version: '*' })
    expect(oneExact).toEqual({ exact: 1, wildcard: 0 })
    expect(compareSelectorRanks(twoWildcards, oneExact)).toBeGreaterThan(0)
    expect(compareSelectorRanks(exactAndWildcard, twoWildcards)).toBeGreaterThan(0)
    expect(compareSelectorRanks(oneExact, oneExact)).toBe(0)
  })
})

describe('selectTrafficPermission', () => {
  it('returns undefined when nothing matches', () => {
    expect(
      selectTrafficPermission([permission('web-only', [{ 'kuma.io/service': 'web' }])], backendV1)
    ).toBeUndefined()
  })

  it('picks the most specific destination selector', () => {
    const all = permission('a-all', [{ 'kuma.io/service': '*' }])
    const backend = permission('b-backend', [{ 'kuma.io/service': 'backend' }])
    const backendV1Only = permission('c-backend-v1', [
      { 'kuma.io/service': 'backend', version: 'v1' },
    ])
    const other = permission('d-web', [{ 'kuma.io/service': 'web', version: 'v1', x: 'y' }])
    expect(selectTrafficPermission([other, backend, all, backendV1Only], backendV1)?.name).toBe(
      'c-backend-v1'
    )
    expect(selectTrafficPermission([all, backend], backendV1)?.name).toBe('b-backend')
  })

  it('prefers more matched tags even when they are wildcards', () => {
    const exact = permission('exact', [{ 'kuma.io/service': 'backend' }])
    const wide = permission('wide', [{ 'kuma.io/service': '*', version: '*' }])
    expect(selectTrafficPermission([exact, wide], backendV1)?.name).toBe('wide')
  })

  it('uses the best matching selector of a permission', () => {
    const multi = permission('multi', [
      { 'kuma.io/service': 'web' },
      { 'kuma.io/service': 'backend', version: 'v1' },
    ])
    const single = permission('single', [{ 'kuma.io/service': 'backend', version: '*' }])
    expect(selectTrafficPermission([single, multi], backendV1)?.name).toBe('multi')
  })

  it('breaks ties by the later creation time', () => {
    const older = permission(
      'a',
      [{ 'kuma.io/service': 'backend' }],
      undefined,
      '2024-01-01T00:00:00Z'
    )
    const newer = permission(
      'b',
      [{ 'kuma.io/service': 'backend' }],
      undefined,
      '2024-02-01T00:00:00Z'
    )
    expect(selectTrafficPermission([older, newer], backendV1)?.name).toBe('b')
    const newerA = permission(
      'a',
      [{ 'kuma.io/service': 'backend' }],
      undefined,
      '2024-03-01T00:00:00Z'
    )
    expect(selectTrafficPermission([newer, newerA], backendV1)?.name).toBe('a')
  })

  it('breaks ties without a later creation time by name order, first wins', () => {
    const at = '2024-01-01T00:00:00Z'
    const b = permission('b', [{ 'kuma.io/service': 'backend' }], undefined, at)
    const a = permission('a', [{ 'kuma.io/service': 'backend' }], undefined, at)
    expect(selectTrafficPermission([b, a], backendV1)?.name).toBe('a')
    const x = permission('x', [{ 'kuma.io/service': 'backend' }])
    const y = permission('y', [{ 'kuma.io/service': 'backend' }])
    expect(selectTrafficPermission([y, x], backendV1)?.name).toBe('x')
  })
})

describe('sourcePrincipals', () => {
  it('maps the service to a SPIFFE id and other tags to kuma:// URIs, skipping wildcards', () => {
    expect(
      sourcePrincipals('demo', {
        match: { 'kuma.io/service': 'web', version: 'v2', 'kuma.io/zone': '*' },
      })
    ).toEqual(['spiffe://demo/web', 'kuma://version/v2'])
    expect(sourcePrincipals('demo', { match: { 'kuma.io/service': '*' } })).toEqual([])
  })
})

describe('isConnectionAllowed', () => {
  const webUris = [
    'spiffe://default/web',
    'kuma://kuma.io/service/web',
    'kuma://version/v2',
    'kuma://kuma.io/zone/east',
  ]

  it('denies everything when no permission matches the destination', () => {
    expect(
      isConnectionAllowed({
        mesh: 'default',
        permissions: [permission('web', [{ 'kuma.io/service': 'web' }])],
        destinationTags: backendV1,
        clientUris: webUris,
      })
    ).toBe(false)
    expect(
      isConnectionAllowed({
        mesh: 'default',
        permissions: [],
        destinationTags: backendV1,
        clientUris: webUris,
      })
    ).toBe(false)
  })

  it('allows a client whose SANs hold every principal of one source selector', () => {
    const tp = permission(
      'web-to-backend',
      [{ 'kuma.io/service': 'backend' }],
      [{ 'kuma.io/service': 'web', version: 'v2' }, { 'kuma.io/service': 'admin' }]
    )
    const check = { mesh: 'default', permissions: [tp], destinationTags: backendV1 }
    expect(isConnectionAllowed({ ...check, clientUris: webUris })).toBe(true)
    expect(isConnectionAllowed({ ...check, clientUris: ['spiffe://default/admin'] })).toBe(true)
    expect(isConnectionAllowed({ ...check, clientUris: ['spiffe://default/web'] })).toBe(false)
    expect(
      isConnectionAllowed({ ...check, clientUris: ['spiffe://other/web', 'kuma://version/v2'] })
    ).toBe(false)
  })

  it('follows only the selected permission, even if a less specific one would allow', () => {
    const allowAll = defaultTrafficPermission('default')
    const onlyAdmin = permission(
      'only-admin',
      [{ 'kuma.io/service': 'backend' }],
      [{ 'kuma.io/service': 'admin' }]
    )
    expect(
      isConnectionAllowed({
        mesh: 'default',
        permissions: [allowAll, onlyAdmin],
        destinationTags: backendV1,
        clientUris: webUris,
      })
    ).toBe(false)
  })

  it('ignores permissions of other meshes', () => {
    expect(
      isConnectionAllowed({
        mesh: 'default',
        permissions: [defaultTrafficPermission('other')],
        destinationTags: backendV1,
        clientUris: webUris,
      })
    ).toBe(false)
  })
})
