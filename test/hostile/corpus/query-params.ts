/**
 * Bad query parameters: page `size` and `offset` on every list, the overview filters, and
 * `allowUnsafeBackendSwitch` on a Mesh PUT. A size that is not a whole number from 1 to 1000, and a
 * switch flag that is neither `true` nor `false`, must be a 400.
 */
import { builtinMesh, MESH } from '../hostile-world.ts'
import { type CorpusContext, jsonBody, type Probe, type Who, withCredentials } from './probe.ts'

const LISTS: readonly { path: string; who: Who }[] = [
  { path: '/meshes', who: 'anonymous' },
  { path: '/secrets', who: 'admin' },
  { path: `/meshes/${MESH}/secrets`, who: 'admin' },
  { path: '/dataplanes', who: 'user' },
  { path: `/meshes/${MESH}/dataplanes`, who: 'user' },
  { path: '/traffic-permissions', who: 'anonymous' },
  { path: `/meshes/${MESH}/traffic-permissions`, who: 'user' },
  { path: '/dataplane-insights', who: 'user' },
  { path: `/meshes/${MESH}/dataplane-insights`, who: 'admin' },
  { path: '/mesh-insights', who: 'anonymous' },
  { path: '/dataplanes+insights', who: 'user' },
  { path: `/meshes/${MESH}/dataplanes+insights`, who: 'admin' },
]

interface Query {
  readonly query: string
  readonly status?: 400
  /** Only the overviews read it. */
  readonly overviewsOnly?: true
}

const QUERIES: readonly Query[] = [
  { query: 'size=-1', status: 400 },
  { query: 'size=0', status: 400 },
  { query: 'size=1001', status: 400 },
  { query: 'size=abc', status: 400 },
  { query: 'size=1e3', status: 400 },
  { query: 'size=1.5', status: 400 },
  { query: 'size=0x10', status: 400 },
  { query: 'size=99999999999999999999999999', status: 400 },
  { query: 'size=%EF%BC%91', status: 400 },
  { query: 'size=%00', status: 400 },
  { query: 'size=' },
  { query: 'size=1&size=2000' },
  { query: 'offset=zzz' },
  { query: 'offset=-1' },
  { query: 'offset=99999999999999999999999999' },
  { query: 'offset=%00%FF' },
  { query: `offset=${'A'.repeat(8_000)}` },
  { query: `offset=${Buffer.from('{"mesh":"../../","name":"\' OR 1=1"}').toString('base64')}` },
  { query: 'offset=1e3&size=1' },
  { query: 'name=%00' },
  { query: `name=${'%25'.repeat(2_000)}` },
  { query: 'name=%E2%80%AE' },
  { query: 'tag=kuma.io/service', overviewsOnly: true },
  { query: `${'tag=a:b&'.repeat(500)}tag=:`, overviewsOnly: true },
  { query: 'gateway=maybe', status: 400, overviewsOnly: true },
  { query: 'gateway=', status: 400, overviewsOnly: true },
  { query: '%00=%00&&&==&' },
]

function listProbes(context: CorpusContext): Probe[] {
  const pairs = LISTS.flatMap((list) => QUERIES.map((query) => ({ list, query })))
  return context.random.sample(pairs, 140).map(({ list, query }) => {
    const status =
      query.overviewsOnly && !list.path.includes('+insights') ? undefined : query.status
    return {
      family: 'query parameters',
      label: `GET ${list.path}?${query.query.slice(0, 80)} as ${list.who}`,
      who: list.who,
      request: {
        method: 'GET',
        target: `${list.path}?${query.query}`,
        headers: withCredentials(context.tokens, list.who),
      },
      expect: status === undefined ? {} : { statuses: [status] },
    }
  })
}

const SWITCH_VALUES: readonly { value: string; status?: number }[] = [
  { value: 'true', status: 200 },
  { value: 'false', status: 200 },
  { value: 'yes', status: 400 },
  { value: '1', status: 400 },
  { value: 'TRUE', status: 400 },
  { value: '', status: 400 },
  { value: '%00', status: 400 },
  { value: 'x'.repeat(6_000), status: 400 },
  { value: 'true&allowUnsafeBackendSwitch=false' },
  { value: 'false&allowUnsafeBackendSwitch=true' },
]

/** The Mesh as it is: only the flag differs, so the answer is about the flag. */
function switchProbes(context: CorpusContext): Probe[] {
  return SWITCH_VALUES.map(({ value, status }) => ({
    family: 'query parameters',
    label: `PUT /meshes/${MESH}?allowUnsafeBackendSwitch=${value.slice(0, 40)}`,
    who: 'admin',
    request: {
      method: 'PUT',
      target: `/meshes/${MESH}?allowUnsafeBackendSwitch=${value}`,
      headers: withCredentials(context.tokens, 'admin', { 'content-type': 'application/json' }),
      body: jsonBody(builtinMesh(MESH)),
    },
    expect: status === undefined ? {} : { statuses: [status] },
  }))
}

export function queryProbes(context: CorpusContext): Probe[] {
  return [...listProbes(context), ...switchProbes(context)]
}
