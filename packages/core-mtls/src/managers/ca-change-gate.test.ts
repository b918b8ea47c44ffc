import '../polyfill.ts'
import { opensslFiles } from '@meshca/test-support/openssl'
import { describe, expect, it } from 'vitest'
import { certificatesFromPem } from '../ca/pem.ts'
import type { DataplaneInsightSpec } from '../resources/dataplane-insight.ts'
import type { CaBackendSpec, MeshSpec } from '../resources/mesh.ts'
import { caChangeViolations, sameTrustAnchor } from './ca-change-gate.ts'

const EXT =
  '[req]\ndistinguished_name=dn\n[dn]\n[ext]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n'
const req = (key: string[], out: string, cn: string) => [
  ...['req', '-x509', ...key, '-nodes', '-out', out, '-subj', `/CN=${cn}`],
  ...['-days', '30', '-config', 'x.cnf', '-extensions', 'ext'],
]
const files = opensslFiles(
  [
    req(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-keyout', 'a.key'], 'a.pem', 'a'),
    req(['-key', 'a.key', '-new'], 'a-renewed.pem', 'a'),
    req(['-key', 'a.key', '-new'], 'a-renamed.pem', 'not-a'),
    req(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-keyout', 'b.key'], 'b.pem', 'a'),
  ],
  { 'x.cnf': EXT },
  ['a.pem', 'a-renewed.pem', 'a-renamed.pem', 'b.pem']
)
const der = (name: string) => certificatesFromPem(files[name] ?? '')[0] ?? new Uint8Array()

function insight(issued: string, supported: string[], online = true): DataplaneInsightSpec {
  const subscription = online ? { connectTime: 't' } : { connectTime: 't', disconnectTime: 'u' }
  return {
    subscriptions: [subscription],
    mTLS: { issuedBackend: issued, supportedBackends: supported },
    other: {},
  } as DataplaneInsightSpec
}

function spec(enabled: string, backends: CaBackendSpec[]): MeshSpec {
  return { mtls: { enabledBackend: enabled, backends }, other: {} }
}

const builtin = (name: string): CaBackendSpec => ({ name, type: 'builtin' })
const provided = (name: string, root: string): CaBackendSpec => ({
  name,
  type: 'provided',
  conf: { cert: { secret: root } },
})

function deps(insights: DataplaneInsightSpec[]) {
  return {
    insights: async () => insights,
    root: async (backend: CaBackendSpec) =>
      backend.type === 'provided'
        ? der(String((backend.conf?.cert as { secret?: string } | undefined)?.secret))
        : der('a.pem'),
  }
}

const fields = (violations: { field: string }[]) => violations.map((v) => v.field)

describe('sameTrustAnchor', () => {
  it('holds for a root renewed with its own key and subject, not for another key or subject', () => {
    expect(sameTrustAnchor(der('a.pem'), der('a-renewed.pem'))).toBe(true)
    expect(sameTrustAnchor(der('a.pem'), der('a-renamed.pem'))).toBe(false)
    expect(sameTrustAnchor(der('a.pem'), der('b.pem'))).toBe(false)
    expect(sameTrustAnchor(der('a.pem'), new Uint8Array([1, 2, 3]))).toBe(false)
  })
})

describe('caChangeViolations', () => {
  const online = [insight('ca-1', ['ca-1']), insight('ca-1', ['ca-1', 'ca-2'])]

  it('refuses a new CA under the enabled name, whatever the edit looks like', async () => {
    const before = spec('ca-1', [provided('ca-1', 'a.pem')])
    for (const after of [
      spec('ca-1', [builtin('ca-1')]),
      spec('ca-1', [provided('ca-1', 'b.pem')]),
      spec('ca-1', [provided('ca-1', 'a-renamed.pem')]),
    ]) {
      expect(fields(await caChangeViolations(deps(online), after, before))).toEqual([
        'mtls.backends[0]',
      ])
    }
    // The same root, renewed, or read from elsewhere, is the same CA.
    expect(
      await caChangeViolations(
        deps(online),
        spec('ca-1', [provided('ca-1', 'a-renewed.pem')]),
        before
      )
    ).toEqual([])
  })

  it('refuses a new CA under any name data planes trust, enabled or not', async () => {
    const before = spec('ca-1', [builtin('ca-1'), provided('ca-2', 'a.pem')])
    const after = spec('ca-1', [builtin('ca-1'), provided('ca-2', 'b.pem')])
    // One online data plane lists ca-2 as supported: it would keep trusting the old root as ca-2.
    const refused = await caChangeViolations(deps(online), after, before)
    expect(refused).toEqual([
      {
        field: 'mtls.backends[1]',
        message:
          'Replacing the CA of backend "ca-2" in place is forbidden while data plane proxies use it: 1 online data plane proxy does not trust the new CA yet. Add the new CA as another backend, wait until every data plane proxy supports it, switch enabledBackend to it, then remove "ca-2"',
      },
    ])
    // Nobody trusts ca-2 yet: it is still being set up, and may change.
    expect(await caChangeViolations(deps([insight('ca-1', ['ca-1'])]), after, before)).toEqual([])
  })

  it('lets anything through when no data plane is online, or mTLS turns on or off', async () => {
    const before = spec('ca-1', [provided('ca-1', 'a.pem')])
    const offline = [insight('ca-1', ['ca-1'], false)]
    expect(
      await caChangeViolations(deps(offline), spec('ca-1', [builtin('ca-1')]), before)
    ).toEqual([])
    expect(
      await caChangeViolations(
        deps(online),
        { mtls: { backends: [builtin('ca-1')] }, other: {} },
        before
      )
    ).toEqual([])
  })

  it('keeps the switch and removal gates', async () => {
    const two = spec('ca-1', [builtin('ca-1'), builtin('ca-2')])
    const switched = spec('ca-2', [builtin('ca-1'), builtin('ca-2')])
    expect(fields(await caChangeViolations(deps(online), switched, two))).toEqual([
      'mtls.enabledBackend',
    ])
    const trusting = [insight('ca-1', ['ca-1', 'ca-2'])]
    expect(await caChangeViolations(deps(trusting), switched, two)).toEqual([])
    expect(
      fields(await caChangeViolations(deps(trusting), spec('ca-2', [builtin('ca-2')]), two))
    ).toEqual(['mtls.backends'])
  })
})
