/**
 * Negative, zero, huge and malformed durations: a token's `validFor` (Go syntax) and a Mesh's
 * `dpCert.rotation.expiration`, `caCert.expiration` (Kuma's one-unit syntax) and `requestTimeout`
 * (a proto Duration). A duration that is negative, overflows or does not parse must be refused.
 */
import { builtinMesh, MESH } from '../hostile-world.ts'
import { type CorpusContext, describe, jsonBody, type Probe, withCredentials } from './probe.ts'

interface Duration {
  readonly value: unknown
  /** `true`: must be refused; `undefined`: any answer that follows the general rules. */
  readonly refused?: true
}

const BOTH: readonly Duration[] = [
  { value: '-1h', refused: true },
  { value: '-1s', refused: true },
  { value: '1h-30m', refused: true },
  { value: 'h', refused: true },
  { value: '1..5h', refused: true },
  { value: '1e3h', refused: true },
  { value: '１h', refused: true },
  { value: '1h\u0000', refused: true },
  { value: ' 1h', refused: true },
  { value: '99999999999999999999999999h', refused: true },
  { value: `${'9'.repeat(100_000)}h`, refused: true },
  { value: 'NaNh', refused: true },
  { value: 'Infinityh', refused: true },
  { value: -3600, refused: true },
  { value: 1e308, refused: true },
  { value: [], refused: true },
  { value: {}, refused: true },
  { value: '0' },
  { value: '' },
  { value: null },
]

/** Go's `time.ParseDuration` (token validity): units up to hours, int64 nanoseconds at most. */
const GO_DURATIONS: readonly Duration[] = [
  ...BOTH,
  { value: '0s', refused: true },
  { value: '1d', refused: true },
  { value: '2562048h', refused: true },
  { value: '9223372036854775808ns', refused: true },
  { value: '1µs' },
  { value: '+1h' },
  { value: '9223372036854775807ns' },
]

/** Kuma's `ParseDuration` (certificate lifetimes): one unit, no sign, no fraction, at most 1,000 y. */
const KUMA_DURATIONS: readonly Duration[] = [
  ...BOTH,
  { value: '1.5h', refused: true },
  { value: '1h30m', refused: true },
  { value: '1D', refused: true },
  { value: '1001y', refused: true },
  { value: '99999999999y', refused: true },
  { value: '9999999999999999999999s', refused: true },
  { value: '1ms' },
  { value: '1000y' },
]

/**
 * A proto Duration (`requestTimeout`, which Kuma decodes with protojson): decimal seconds with an
 * `s`, sign allowed. Whatever is refused in BOTH is not one either.
 */
const PROTO_DURATIONS: readonly Duration[] = [
  ...BOTH.filter((d) => typeof d.value !== 'string' || !d.value.startsWith('-')),
  { value: '1h', refused: true },
  { value: '10', refused: true },
  { value: '1e3s', refused: true },
  { value: '10s' },
  { value: '0.5s' },
]

interface Target {
  readonly label: string
  readonly path: string
  readonly durations: readonly Duration[]
  body(value: unknown, name: string): unknown
}

function meshWith(name: string, dpCert: object, caCert: object): unknown {
  const mesh = builtinMesh(name) as {
    mtls: { backends: { dpCert: object; conf: { caCert: object } }[] }
  }
  const backend = mesh.mtls.backends[0]
  if (backend === undefined) throw new Error('builtinMesh has a backend')
  backend.dpCert = { ...backend.dpCert, ...dpCert }
  backend.conf.caCert = { ...backend.conf.caCert, ...caCert }
  return mesh
}

const TARGETS: readonly Target[] = [
  {
    label: 'user token validFor',
    path: '/tokens/user',
    durations: GO_DURATIONS,
    body: (value, name) => ({ name, groups: [], validFor: value }),
  },
  {
    label: 'data plane token validFor',
    path: '/tokens/dataplane',
    durations: GO_DURATIONS,
    body: (value, name) => ({ name, mesh: MESH, validFor: value }),
  },
  {
    label: 'dpCert.rotation.expiration',
    path: '/meshes/{name}',
    durations: KUMA_DURATIONS,
    body: (value, name) => meshWith(name, { rotation: { expiration: value } }, {}),
  },
  {
    label: 'caCert.expiration',
    path: '/meshes/{name}',
    durations: KUMA_DURATIONS,
    body: (value, name) => meshWith(name, {}, { expiration: value }),
  },
  {
    label: 'dpCert.requestTimeout',
    path: '/meshes/{name}',
    durations: PROTO_DURATIONS,
    body: (value, name) => meshWith(name, { requestTimeout: value }, {}),
  },
  {
    label: 'rootChain.requestTimeout',
    path: '/meshes/{name}',
    durations: PROTO_DURATIONS,
    body: (value, name) => {
      const mesh = meshWith(name, {}, {}) as { mtls: { backends: Record<string, unknown>[] } }
      const backend = mesh.mtls.backends[0] ?? {}
      backend.rootChain = { requestTimeout: value }
      return mesh
    },
  },
]

export function durationProbes(context: CorpusContext): Probe[] {
  return TARGETS.flatMap((target) =>
    target.durations.map((duration): Probe => {
      const name = context.fresh('dur')
      const path = target.path.replace('{name}', name)
      return {
        family: 'durations',
        label: `${path.startsWith('/tokens') ? 'POST' : 'PUT'} ${path} ${target.label} = ${describe(duration.value)}`,
        who: 'admin',
        request: {
          method: path.startsWith('/tokens') ? 'POST' : 'PUT',
          target: path,
          headers: withCredentials(context.tokens, 'admin', { 'content-type': 'application/json' }),
          body: jsonBody(target.body(duration.value, name)),
        },
        expect: { refused: duration.refused === true },
      }
    })
  )
}
