/**
 * Bad base64 wherever the API decodes it: a Secret's `data`, the stream's `x-meshca-csr` header and
 * a CA's `inline` data sources. Text that is not base64 must be refused.
 */
import { DATAPLANE, MESH } from '../hostile-world.ts'
import { providedMesh } from './crypto-inputs.ts'
import { type CorpusContext, describe, jsonBody, type Probe, withCredentials } from './probe.ts'

interface Encoded {
  readonly value: string
  readonly refused?: true
}

const BAD: readonly Encoded[] = [
  { value: '!!!!', refused: true },
  { value: '%%%%', refused: true },
  { value: 'éé==', refused: true },
  { value: 'a', refused: true },
  { value: 'YQ=', refused: true },
  { value: '====', refused: true },
  { value: 'Y\u0000Q=', refused: true },
  { value: 'YQ==YQ==', refused: true },
  { value: `${'A'.repeat(4_000)}!`, refused: true },
]

const ODD: readonly Encoded[] = [
  { value: 'YQ' },
  { value: 'YQ==\n' },
  { value: ' YQ== ' },
  { value: '-_-_' },
  { value: '' },
]

function secretProbes(context: CorpusContext): Probe[] {
  const values = [...BAD, ...ODD, { value: Buffer.alloc(600_000, 1).toString('base64') }]
  return values.map((item): Probe => {
    const name = context.fresh('b64')
    const target = `/meshes/${MESH}/secrets/${name}`
    return {
      family: 'base64',
      label: `PUT ${target} data = ${describe(item.value)}`,
      who: 'admin',
      request: {
        method: 'PUT',
        target,
        headers: withCredentials(context.tokens, 'admin', { 'content-type': 'application/json' }),
        body: jsonBody({ type: 'Secret', mesh: MESH, name, data: item.value }),
      },
      expect: { refused: item.refused === true },
    }
  })
}

/** Non-ASCII header values go as their UTF-8 bytes (the raw client writes the head as UTF-8). */
function headerProbes(context: CorpusContext): Probe[] {
  const target = `/meshes/${MESH}/dataplanes/${DATAPLANE}/identity/stream`
  const values: Encoded[] = [
    ...BAD.filter((b) => !b.value.includes('\u0000')),
    { value: Buffer.from('hello').toString('base64'), refused: true },
    {
      value: Buffer.from('-----BEGIN CERTIFICATE REQUEST-----\nAAAA').toString('base64'),
      refused: true,
    },
    { value: Buffer.alloc(9_000, 0x30).toString('base64'), refused: true },
  ]
  return values.map(
    (item): Probe => ({
      family: 'base64',
      label: `GET ${target} x-meshca-csr: ${describe(item.value)}`,
      who: 'dpOwn',
      request: {
        method: 'GET',
        target,
        headers: withCredentials(context.tokens, 'dpOwn', { 'x-meshca-csr': item.value }),
      },
      expect: { refused: item.refused === true },
    })
  )
}

function inlineProbes(context: CorpusContext): Probe[] {
  const { good } = context.material.ca
  const b64 = (pem: string) => Buffer.from(pem).toString('base64')
  return BAD.flatMap((item) => {
    const name = context.fresh('inl')
    const pairs = [
      { label: 'cert', cert: { inline: item.value }, key: { inline: b64(good.keyPem) } },
      { label: 'key', cert: { inline: b64(good.certPem) }, key: { inline: item.value } },
    ]
    return pairs.map(
      (pair): Probe => ({
        family: 'base64',
        label: `PUT /meshes/${name} provided ${pair.label}.inline = ${describe(item.value)}`,
        who: 'admin',
        request: {
          method: 'PUT',
          target: `/meshes/${name}`,
          headers: withCredentials(context.tokens, 'admin', { 'content-type': 'application/json' }),
          body: jsonBody(providedMesh(name, pair.cert, pair.key)),
        },
        expect: { refused: true },
      })
    )
  })
}

export function base64Probes(context: CorpusContext): Probe[] {
  return [...secretProbes(context), ...headerProbes(context), ...inlineProbes(context)]
}
