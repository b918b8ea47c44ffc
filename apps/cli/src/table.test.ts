import { describe, expect, it } from 'vitest'
import { tableFor } from './commands/get.ts'
import { INSPECT_DATAPLANES_HEADER, inspectRow } from './commands/inspect.ts'
import { formatAge, formatTable } from './table.ts'

const now = new Date('2026-11-27T12:00:00Z')
// 292 years before `now`, what kumactl's goldens show for a zero time.
const epoch = new Date(now.getTime() - (292 * 365 + 10) * 86_400_000).toISOString()

describe('kumactl tables', () => {
  it('pads columns to the widest cell plus 3 (get-meshes golden)', () => {
    const meshes = [
      {
        type: 'Mesh',
        name: 'mesh1',
        modificationTime: epoch,
        mtls: { enabledBackend: 'builtin-1', backends: [{ name: 'builtin-1', type: 'builtin' }] },
        metrics: {
          enabledBackend: 'prometheus-1',
          backends: [{ name: 'prometheus-1', type: 'prometheus' }],
        },
        logging: {
          backends: [
            { name: 'logstash', type: 'tcp' },
            { name: 'file', type: 'file' },
          ],
        },
        tracing: {
          backends: [
            { name: 'zipkin-us', type: 'zipkin' },
            { name: 'zipkin-eu', type: 'zipkin' },
          ],
        },
        routing: { localityAwareLoadBalancing: true, zoneEgress: true },
      },
      { type: 'Mesh', name: 'mesh2', modificationTime: epoch },
    ]
    const lines = tableFor('Mesh', meshes, now).split('\n')
    const cells = (line: string | undefined) => (line ?? '').split(/ {3,}/)
    expect(cells(lines[0])).toEqual([
      'NAME',
      'mTLS',
      'METRICS',
      'LOGGING',
      'TRACING',
      'LOCALITY',
      'ZONEEGRESS',
      'AGE',
    ])
    expect(cells(lines[1])).toEqual([
      'mesh1',
      'builtin/builtin-1',
      'prometheus/prometheus-1',
      'tcp/logstash, file/file',
      'zipkin/zipkin-us, zipkin/zipkin-eu',
      'on',
      'on',
      '292y',
    ])
    // Every column starts where its header starts: the widest cell plus three spaces.
    const starts = (line: string | undefined, texts: string[]) =>
      texts.map((t) => (line ?? '').indexOf(t))
    expect(starts(lines[1], ['builtin/', 'prometheus/', 'tcp/', 'zipkin/', 'on', '292y'])).toEqual(
      starts(lines[0], ['mTLS', 'METRICS', 'LOGGING', 'TRACING', 'LOCALITY', 'AGE'])
    )
    expect(lines[0]?.indexOf('METRICS')).toBe('NAME    '.length + 'builtin/builtin-1'.length + 3)
    expect(lines[2]).toMatch(/^mesh2 {3}off {17}off/)
  })

  it('prints secrets as MESH NAME AGE (get-secrets golden)', () => {
    expect(
      tableFor('Secret', [{ mesh: 'default', name: 'sec-1', modificationTime: epoch }], now)
    ).toBe('MESH      NAME    AGE\ndefault   sec-1   292y\n')
  })

  it('ages like kumactl', () => {
    expect(formatAge(-2000)).toBe('never')
    expect(formatAge(-500)).toBe('0s')
    expect(formatAge(59_999)).toBe('59s')
    expect(formatAge(60_000)).toBe('1m')
    expect(formatAge(3 * 3600_000)).toBe('3h')
    expect(formatAge(2 * 86_400_000)).toBe('2d')
    expect(formatAge(800 * 86_400_000)).toBe('2y')
  })

  it('renders inspect dataplanes with certificate columns', () => {
    const row = inspectRow(
      {
        mesh: 'default',
        name: 'web-1',
        dataplane: {
          networking: {
            address: '10.0.0.1',
            inbound: [{ port: 80, tags: { 'kuma.io/service': 'web', version: 'v1' } }],
          },
        },
        dataplaneInsight: {
          subscriptions: [
            {
              connectTime: '2026-11-27T10:00:00Z',
              status: {
                lastUpdateTime: '2026-11-27T11:59:00Z',
                total: { responsesSent: 10, responsesRejected: 1 },
              },
              version: { kumaDp: { version: '2.2.0' }, envoy: { version: '1.25.0' } },
            },
          ],
          mTLS: {
            certificateExpirationTime: '2026-12-27T10:00:00Z',
            lastCertificateRegeneration: '2026-11-26T14:00:00Z',
            certificateRegenerations: 3,
            issuedBackend: 'ca-1',
            supportedBackends: ['ca-1', 'ca-2'],
          },
        },
      },
      now
    )
    expect(INSPECT_DATAPLANES_HEADER).toHaveLength(17)
    expect(row.slice(0, 8)).toEqual([
      'default',
      'web-1',
      'kuma.io/service=web version=v1',
      'Online',
      '2h',
      '1m',
      '10',
      '1',
    ])
    expect(row[8]).toBe('22h')
    expect(row[9]).toMatch(/^2026-12-2\d \d\d:00:00$/)
    expect(row.slice(10, 16)).toEqual(['3', 'ca-1', 'ca-1,ca-2', '2.2.0', '1.25.0', '-'])
  })

  it('shows never/-/0 for a data plane without mTLS', () => {
    const row = inspectRow({ mesh: 'default', name: 'x', dataplane: {}, dataplaneInsight: {} }, now)
    expect(row.slice(3, 13)).toEqual([
      'Offline',
      'never',
      'never',
      '0',
      '0',
      'never',
      '-',
      '0',
      '-',
      '',
    ])
  })

  it('drops trailing spaces of an empty last column', () => {
    expect(formatTable(['A', 'B'], [['x', '']])).toBe('A   B\nx\n')
  })
})
