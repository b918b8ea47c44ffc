import { describe, expect, it } from 'vitest'
import {
  createMetricsRegistry,
  DEFAULT_LATENCY_BUCKETS_SECONDS,
  PROMETHEUS_CONTENT_TYPE,
} from './metrics.ts'

describe('createMetricsRegistry rendering', () => {
  it('renders an unlabelled counter, with a 0 sample before the first increment', async () => {
    const registry = createMetricsRegistry()
    const rotations = registry.counter('meshca_rotations_total', 'CA rotations completed.')
    expect(await registry.render()).toBe(
      [
        '# HELP meshca_rotations_total CA rotations completed.',
        '# TYPE meshca_rotations_total counter',
        'meshca_rotations_total 0',
        '',
      ].join('\n')
    )
    rotations.inc()
    rotations.inc(undefined, 2)
    rotations.inc({}, 0.5)
    expect(await registry.render()).toContain('\nmeshca_rotations_total 3.5\n')
  })

  it('renders a labelled gauge with series sorted by label values and metrics sorted by name', async () => {
    const registry = createMetricsRegistry()
    const expiry = registry.gauge('meshca_ca_expiry_seconds', 'Seconds until the CA expires.', [
      'mesh',
      'backend',
    ])
    registry.gauge('meshca_announced', 'Labelled, never set.', ['mesh'])
    expiry.set({ mesh: 'zeta', backend: 'builtin' }, 86_400)
    expiry.set({ backend: 'vault', mesh: 'alpha' }, 1e21)
    expiry.set({ mesh: 'alpha', backend: 'builtin' }, -0.25)
    expiry.set({ mesh: 'nan', backend: 'x' }, Number.NaN)
    expiry.set({ mesh: 'inf', backend: 'x' }, Number.POSITIVE_INFINITY)
    expiry.set({ mesh: 'minf', backend: 'x' }, Number.NEGATIVE_INFINITY)
    expect(await registry.render()).toBe(
      [
        '# HELP meshca_announced Labelled, never set.',
        '# TYPE meshca_announced gauge',
        '# HELP meshca_ca_expiry_seconds Seconds until the CA expires.',
        '# TYPE meshca_ca_expiry_seconds gauge',
        'meshca_ca_expiry_seconds{mesh="alpha",backend="builtin"} -0.25',
        'meshca_ca_expiry_seconds{mesh="alpha",backend="vault"} 1000000000000000000000',
        'meshca_ca_expiry_seconds{mesh="inf",backend="x"} +Inf',
        'meshca_ca_expiry_seconds{mesh="minf",backend="x"} -Inf',
        'meshca_ca_expiry_seconds{mesh="nan",backend="x"} NaN',
        'meshca_ca_expiry_seconds{mesh="zeta",backend="builtin"} 86400',
        '',
      ].join('\n')
    )
  })

  it('renders a histogram with cumulative buckets, +Inf, _sum and _count', async () => {
    const registry = createMetricsRegistry()
    const latency = registry.histogram(
      'meshca_sign_seconds',
      'Time to sign one certificate.',
      [0.005, 1, 2.5],
      ['mesh']
    )
    // Binary-exact values, so the expected _sum carries no rounding noise.
    latency.observe({ mesh: 'm' }, 0.00390625)
    latency.observe({ mesh: 'm' }, 0.5)
    latency.observe({ mesh: 'm' }, 2)
    latency.observe({ mesh: 'm' }, 7)
    expect(await registry.render()).toBe(
      [
        '# HELP meshca_sign_seconds Time to sign one certificate.',
        '# TYPE meshca_sign_seconds histogram',
        'meshca_sign_seconds_bucket{mesh="m",le="0.005"} 1',
        'meshca_sign_seconds_bucket{mesh="m",le="1"} 2',
        'meshca_sign_seconds_bucket{mesh="m",le="2.5"} 3',
        'meshca_sign_seconds_bucket{mesh="m",le="+Inf"} 4',
        'meshca_sign_seconds_sum{mesh="m"} 9.50390625',
        'meshca_sign_seconds_count{mesh="m"} 4',
        '',
      ].join('\n')
    )
  })

  it('renders an unobserved unlabelled histogram as zeros and writes le like the Go client', async () => {
    const registry = createMetricsRegistry()
    registry.histogram('size_bytes', 'Sizes.', [0.00001, 0.0001, 100_000, 1_000_000, 2.5e9])
    expect(await registry.render()).toBe(
      [
        '# HELP size_bytes Sizes.',
        '# TYPE size_bytes histogram',
        'size_bytes_bucket{le="1e-05"} 0',
        'size_bytes_bucket{le="0.0001"} 0',
        'size_bytes_bucket{le="100000"} 0',
        'size_bytes_bucket{le="1e+06"} 0',
        'size_bytes_bucket{le="2.5e+09"} 0',
        'size_bytes_bucket{le="+Inf"} 0',
        'size_bytes_sum 0',
        'size_bytes_count 0',
        '',
      ].join('\n')
    )
  })

  it('escapes help text and label values', async () => {
    const registry = createMetricsRegistry()
    const gauge = registry.gauge('escaped', 'a \\ backslash,\na newline and "quotes"', ['value'])
    gauge.set({ value: 'back\\slash "quoted"\nnext' }, 1)
    expect(await registry.render()).toBe(
      [
        '# HELP escaped a \\\\ backslash,\\na newline and "quotes"',
        '# TYPE escaped gauge',
        'escaped{value="back\\\\slash \\"quoted\\"\\nnext"} 1',
        '',
      ].join('\n')
    )
  })

  it('renders an empty registry as an empty body and exports the 0.0.4 content type', async () => {
    expect(await createMetricsRegistry().render()).toBe('')
    expect(PROMETHEUS_CONTENT_TYPE).toBe('text/plain; version=0.0.4; charset=utf-8')
  })

  it('offers default latency buckets that a histogram accepts', async () => {
    const registry = createMetricsRegistry()
    registry.histogram('latency_seconds', 'Latency.', DEFAULT_LATENCY_BUCKETS_SECONDS)
    const text = await registry.render()
    expect(text).toContain('latency_seconds_bucket{le="0.001"} 0\n')
    expect(text).toContain('latency_seconds_bucket{le="10"} 0\n')
  })
})

describe('createMetricsRegistry validation', () => {
  it.each(['', '1abc', 'has-dash', 'has space', 'é'])('rejects metric name %j', (name) => {
    expect(() => createMetricsRegistry().counter(name, 'h')).toThrow(TypeError)
  })

  it('accepts colons in metric names', () => {
    expect(() => createMetricsRegistry().gauge('job:rate:5m', 'h')).not.toThrow()
  })

  it.each(['__reserved', '1x', 'with:colon', 'dash-ed', ''])('rejects label name %j', (label) => {
    expect(() => createMetricsRegistry().gauge('g', 'h', [label])).toThrow(/invalid label name/)
  })

  it('rejects duplicate label names and a histogram label named le', () => {
    const registry = createMetricsRegistry()
    expect(() => registry.gauge('g', 'h', ['a', 'a'])).toThrow(/duplicate label "a"/)
    expect(() => registry.histogram('h', 'h', [1], ['le'])).toThrow(/invalid label name "le"/)
  })

  it('rejects registering a name twice, across metric types', () => {
    const registry = createMetricsRegistry()
    registry.counter('twice', 'h')
    expect(() => registry.gauge('twice', 'h')).toThrow(/"twice" is already registered/)
  })

  it('requires exactly the declared labels, naming the metric and the label', () => {
    const registry = createMetricsRegistry()
    const counter = registry.counter('requests_total', 'h', ['mesh', 'code'])
    expect(() => counter.inc({ mesh: 'm' })).toThrow(
      new TypeError('metric "requests_total": missing label "code"')
    )
    expect(() => counter.inc({ mesh: 'm', code: '200', extra: 'x' })).toThrow(
      new TypeError('metric "requests_total": unexpected label "extra"')
    )
    expect(() => counter.inc()).toThrow(/missing label "mesh"/)
    const plain = registry.gauge('plain', 'h')
    expect(() => plain.set({ mesh: 'm' }, 1)).toThrow(/metric "plain": unexpected label "mesh"/)
    const untyped = { mesh: 'm', code: 200 } as unknown as Record<string, string>
    expect(() => counter.inc(untyped)).toThrow(/non-string value for label "code"/)
  })

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])(
    'rejects counter increment %s and creates no series',
    async (value) => {
      const registry = createMetricsRegistry()
      const counter = registry.counter('c_total', 'h', ['mesh'])
      expect(() => counter.inc({ mesh: 'm' }, value)).toThrow(RangeError)
      expect(await registry.render()).not.toContain('mesh="m"')
    }
  )

  it.each([[[]], [[1, 1]], [[2, 1]], [[1, Number.POSITIVE_INFINITY]], [[Number.NaN]]])(
    'rejects histogram buckets %j',
    (buckets) => {
      expect(() => createMetricsRegistry().histogram('h', 'h', buckets)).toThrow(RangeError)
    }
  )

  it('rejects non-finite observations', () => {
    const histogram = createMetricsRegistry().histogram('h', 'h', [1])
    expect(() => histogram.observe(undefined, Number.NaN)).toThrow(RangeError)
  })
})

describe('createMetricsRegistry collectors and gauge lifecycle', () => {
  it('runs collectors, sync and async, before rendering; unregister stops them', async () => {
    const registry = createMetricsRegistry()
    const meshes = registry.gauge('meshca_meshes', 'Meshes known to the store.')
    const calls: string[] = []
    let count = 0
    const unregister = registry.onCollect(async () => {
      await Promise.resolve()
      count += 1
      meshes.set(undefined, count)
      calls.push('async')
    })
    registry.onCollect(() => {
      calls.push('sync')
    })
    expect(await registry.render()).toContain('\nmeshca_meshes 1\n')
    expect(calls).toEqual(['async', 'sync'])
    unregister()
    unregister()
    expect(await registry.render()).toContain('\nmeshca_meshes 1\n')
    expect(calls).toEqual(['async', 'sync', 'sync'])
  })

  it('rejects the render with the error of a collector that throws', async () => {
    const registry = createMetricsRegistry()
    const failure = new Error('store unreachable')
    registry.onCollect(() => {
      throw failure
    })
    await expect(registry.render()).rejects.toBe(failure)
  })

  it('removes one gauge series, and reset drops them all', async () => {
    const registry = createMetricsRegistry()
    const gauge = registry.gauge('dataplanes', 'Online data planes.', ['mesh'])
    gauge.set({ mesh: 'a' }, 1)
    gauge.set({ mesh: 'b' }, 2)
    gauge.remove({ mesh: 'a' })
    gauge.remove({ mesh: 'never-set' })
    expect(await registry.render()).toBe(
      [
        '# HELP dataplanes Online data planes.',
        '# TYPE dataplanes gauge',
        'dataplanes{mesh="b"} 2',
        '',
      ].join('\n')
    )
    expect(() => gauge.remove({})).toThrow(/missing label "mesh"/)
    gauge.reset()
    expect(await registry.render()).toBe(
      ['# HELP dataplanes Online data planes.', '# TYPE dataplanes gauge', ''].join('\n')
    )
  })

  it('renders an unlabelled gauge as 0 again after remove', async () => {
    const registry = createMetricsRegistry()
    const gauge = registry.gauge('leader', 'Whether this instance leads.')
    gauge.set(undefined, 1)
    gauge.remove()
    expect(await registry.render()).toContain('\nleader 0\n')
  })
})
