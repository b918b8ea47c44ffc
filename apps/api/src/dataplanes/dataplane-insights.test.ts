import type { DataplaneIdentity, DataplaneInsightSpec } from '@meshca/core-mtls'
import { describe, expect, it } from 'vitest'
import {
  SUBSCRIPTION_HISTORY,
  withConnect,
  withDisconnect,
  withIssued,
} from './dataplane-insights.ts'

const identity = {
  mode: 'STRICT',
  mesh: 'default',
  dataplane: 'web-1',
  backend: 'ca-2',
  supportedBackends: ['ca-1', 'ca-2'],
  certificateChainPem: '',
  trustBundlePem: '',
  serialNumber: '01',
  uris: [],
  generation: new Date('2026-01-01T00:00:00.123Z'),
  expiration: new Date('2026-01-31T00:00:00Z'),
  rotateAt: new Date('2026-01-25T00:00:00Z'),
} satisfies DataplaneIdentity
const now = new Date('2026-01-01T00:00:01Z')
const start = (id: string) => ({ id, controlPlaneInstanceId: 'cp-1', connectTime: now })

describe('DataplaneInsight updates', () => {
  it('records each issuance in mTLS and counts it', () => {
    const once = withIssued(undefined, identity, now)
    expect(once).toEqual({
      subscriptions: [],
      other: {},
      mTLS: {
        certificateExpirationTime: '2026-01-31T00:00:00Z',
        lastCertificateRegeneration: '2026-01-01T00:00:00.123Z',
        certificateRegenerations: 1,
        issuedBackend: 'ca-2',
        supportedBackends: ['ca-1', 'ca-2'],
      },
    })
    expect(withIssued(once, identity, now).mTLS?.certificateRegenerations).toBe(2)
    // mTLS off: the statistics go, as in Kuma.
    expect(withIssued(once, { mode: 'DISABLED' }, now).mTLS).toBeUndefined()
  })

  it('opens, counts and closes subscriptions by id, keeping the newest few', () => {
    let spec: DataplaneInsightSpec | undefined
    for (let i = 0; i < SUBSCRIPTION_HISTORY + 2; i++) spec = withConnect(spec, start(`s${i}`))
    expect(spec?.subscriptions.map((s) => s.id)).toEqual(['s2', 's3', 's4', 's5', 's6'])
    spec = withIssued(spec, identity, now, 's6')
    expect(spec.subscriptions.at(-1)).toEqual({
      id: 's6',
      controlPlaneInstanceId: 'cp-1',
      connectTime: '2026-01-01T00:00:01Z',
      status: { lastUpdateTime: '2026-01-01T00:00:01Z', total: { responsesSent: 1 } },
    })
    const closed = withDisconnect(spec, 's5', new Date('2026-01-02T00:00:00Z'))
    expect(closed?.subscriptions.map((s) => s.disconnectTime)).toEqual([
      undefined,
      undefined,
      undefined,
      '2026-01-02T00:00:00Z',
      undefined,
    ])
    // Nothing to write for an unknown or already closed subscription.
    expect(withDisconnect(closed, 's5', now)).toBeUndefined()
    expect(withDisconnect(closed, 'gone', now)).toBeUndefined()
    expect(withDisconnect(undefined, 's5', now)).toBeUndefined()
  })
})
