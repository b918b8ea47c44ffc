/**
 * Malformed and pathological documents, sent to every body route: nesting far past any parser's
 * stack, alias bombs, many documents, truncation, bytes that are not UTF-8, too many values. Some are
 * built from the route's valid body (truncated, doubled, with trailing garbage).
 */
import { BODY_ROUTES, callerFor, targetName } from './body-routes.ts'
import { type CorpusContext, type Probe, withCredentials } from './probe.ts'

interface Document {
  readonly label: string
  readonly format: 'json' | 'yaml'
  readonly text: string | Buffer
  /** No route may accept it; otherwise only the general rules apply. */
  readonly invalid: boolean
}

/** `levels` of YAML anchors, each a list of `fanout` aliases of the previous one: fanout^levels values. */
function aliasBomb(levels: number, fanout: number): string {
  const lines = [`l0: &l0 [${Array(fanout).fill('"lol"').join(',')}]`]
  for (let i = 1; i < levels; i++) {
    lines.push(
      `l${i}: &l${i} [${Array(fanout)
        .fill(`*l${i - 1}`)
        .join(',')}]`
    )
  }
  return `${lines.join('\n')}\n`
}

function blockNesting(levels: number): string {
  const lines = Array.from({ length: levels }, (_, i) => `${'  '.repeat(i)}k${i}:`)
  return `${lines.join('\n')} v\n`
}

/** Documents that do not depend on the route. */
function fixedDocuments(): Document[] {
  const big = 'x'.repeat(400_000)
  return [
    { label: '24,000 nested [ (JSON)', format: 'json', text: '['.repeat(24_000), invalid: true },
    { label: '24,000 nested [ (YAML)', format: 'yaml', text: '['.repeat(24_000), invalid: true },
    { label: '- - - … 24,000 deep', format: 'yaml', text: '- '.repeat(24_000), invalid: true },
    {
      label: '24,000 nested {"a": (JSON)',
      format: 'json',
      text: `{"type":"Mesh","x":${'{"a":'.repeat(24_000)}1${'}'.repeat(24_000)}}`,
      invalid: true,
    },
    {
      label: '{a: ×24,000 (YAML flow)',
      format: 'yaml',
      text: '{a: '.repeat(24_000),
      invalid: true,
    },
    { label: '700 nested block mappings', format: 'yaml', text: blockNesting(700), invalid: true },
    ...[',', '&a ', '!t ', ': ', '# c\n'].map((unit) => ({
      label: `1 MB of ${JSON.stringify(unit)} (YAML)`,
      format: 'yaml' as const,
      text:
        unit === ','
          ? `[${','.repeat(1_000_000)}]`
          : unit.repeat(Math.floor(1_000_000 / unit.length)),
      invalid: true,
    })),
    {
      label: '[a: ×40 (pairs in flow)',
      format: 'yaml',
      text: `${'[a: '.repeat(40)}1${']'.repeat(40)}`,
      invalid: true,
    },
    {
      label: 'b: ×100 on one line',
      format: 'yaml',
      text: `${'b: '.repeat(100)}c\n`,
      invalid: true,
    },
    { label: 'billion laughs (9^9)', format: 'yaml', text: aliasBomb(9, 9), invalid: true },
    { label: '150 aliases', format: 'yaml', text: aliasBomb(2, 150), invalid: true },
    {
      label: '99 aliases of a 400 KB string',
      format: 'yaml',
      text: `a: &a "${big}"\nb: [${Array(99).fill('*a').join(',')}]\n`,
      invalid: true,
    },
    {
      label: 'merge-key bomb',
      format: 'yaml',
      text: `a: &a {x: 1, y: 2}\n${Array.from({ length: 90 }, (_, i) => `m${i}: &m${i} {<<: [*a${i > 0 ? `, *m${i - 1}` : ''}]}`).join('\n')}\n`,
      invalid: true,
    },
    { label: 'recursive alias', format: 'yaml', text: 'a: &a [*a]\n', invalid: true },
    { label: 'undefined alias', format: 'yaml', text: 'type: *nope\n', invalid: true },
    {
      label: '5,000 YAML documents',
      format: 'yaml',
      text: '---\na: 1\n'.repeat(5_000),
      invalid: true,
    },
    {
      label: 'language-specific YAML tags',
      format: 'yaml',
      text: 'type: !!python/object/apply:os.system ["id"]\nname: !!js/function "function(){}"\nx: !Ref y\n',
      invalid: true,
    },
    {
      label: 'YAML directives only',
      format: 'yaml',
      text: '%YAML 1.1\n%TAG ! tag:x,2000:\n---\n',
      invalid: true,
    },
    {
      label: '30,000 values in a flat list',
      format: 'json',
      text: `[${Array(30_000).fill('0').join(',')}]`,
      invalid: true,
    },
    {
      label: '25,000 keys',
      format: 'json',
      text: `{${Array.from({ length: 25_000 }, (_, i) => `"k${i}":1`).join(',')}}`,
      invalid: true,
    },
    {
      label: 'invalid UTF-8',
      format: 'json',
      text: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0xc0, 0x22, 0x7d]),
      invalid: true,
    },
    {
      label: 'unterminated 900 KB string',
      format: 'json',
      text: `{"a":"${'x'.repeat(900_000)}`,
      invalid: true,
    },
    { label: 'empty', format: 'json', text: '', invalid: false },
    {
      label: '1 MiB of blanks',
      format: 'json',
      text: ' '.repeat(1024 * 1024 - 10),
      invalid: false,
    },
    { label: 'null', format: 'json', text: 'null', invalid: true },
    { label: 'a number', format: 'json', text: '1e999999', invalid: true },
    { label: 'a string', format: 'json', text: '"Mesh"', invalid: true },
    { label: 'an array', format: 'json', text: '[{"type":"Mesh"}]', invalid: true },
    { label: 'a YAML scalar', format: 'yaml', text: '--- |\n  text\n', invalid: true },
    { label: 'JSON with comments', format: 'json', text: '{/* x */"type":"Mesh"}', invalid: true },
    {
      label: 'a 10,000-digit number',
      format: 'json',
      text: `{"n":${'9'.repeat(10_000)}}`,
      invalid: true,
    },
    {
      label: 'lone surrogate escapes',
      format: 'json',
      text: '{"name":"\\ud800\\udfff\\ud800"}',
      invalid: true,
    },
    {
      label: 'raw NUL bytes',
      format: 'json',
      text: '{"type":"Mesh\u0000","name":"\u0000"}',
      invalid: true,
    },
  ]
}

/** Documents made from the route's valid body. */
function derivedDocuments(base: Record<string, unknown>, yaml: boolean): Document[] {
  const json = JSON.stringify(base)
  const docs: Document[] = [
    {
      label: 'truncated',
      format: 'json',
      text: json.slice(0, Math.floor(json.length / 2)),
      invalid: true,
    },
    { label: 'trailing garbage', format: 'json', text: `${json} {}`, invalid: true },
    {
      label: 'UTF-16 with a BOM',
      format: 'json',
      text: Buffer.from(`\ufeff${json}`, 'utf16le'),
      invalid: true,
    },
    {
      label: 'duplicate keys',
      format: 'json',
      text: `{"type":"x",${json.slice(1, -1)},"name":"other-name"}`,
      invalid: false,
    },
    { label: 'UTF-8 BOM', format: 'json', text: `\ufeff${json}`, invalid: false },
    {
      label: '__proto__ and constructor keys',
      format: 'json',
      text: `${json.slice(0, -1)},"__proto__":{"admin":true},"constructor":{"prototype":{"admin":true}}}`,
      invalid: false,
    },
    {
      label: '64 levels under an unknown key',
      format: 'json',
      text: `${json.slice(0, -1)},"deep":${'['.repeat(60)}${']'.repeat(60)}}`,
      invalid: false,
    },
  ]
  if (yaml) {
    docs.push(
      { label: 'two documents', format: 'yaml', text: `${json}\n---\n${json}\n`, invalid: true },
      { label: 'truncated YAML flow', format: 'yaml', text: json.slice(0, -3), invalid: true },
      {
        label: 'tabs as indentation',
        format: 'yaml',
        text: 'type: Mesh\nmtls:\n\tenabledBackend: x\n',
        invalid: true,
      }
    )
  }
  return docs
}

const CONTENT_TYPES = { json: 'application/json', yaml: 'application/yaml' }

export function bodySyntaxProbes(context: CorpusContext): Probe[] {
  const fixed = fixedDocuments()
  const probes: Probe[] = []
  for (const route of BODY_ROUTES) {
    const name = targetName(route, context)
    const docs = [...fixed, ...derivedDocuments(route.base(name, context), route.yaml)]
    for (const doc of docs) {
      const { who, anonymous } = callerFor(route, context)
      // The data plane API takes JSON only: YAML documents go to it as JSON (still invalid JSON).
      const format = route.yaml ? doc.format : 'json'
      const emptyIsFine = doc.label.startsWith('empty') || doc.label.startsWith('1 MiB of blanks')
      const refused = doc.invalid || (emptyIsFine && route.kind.startsWith('identity') === false)
      probes.push({
        family: 'syntax',
        label: `${route.method} ${route.path(name)} ${format}: ${doc.label}`,
        who,
        request: {
          method: route.method,
          target: route.path(name),
          headers: withCredentials(context.tokens, who, { 'content-type': CONTENT_TYPES[format] }),
          body: { kind: 'bytes', data: Buffer.from(doc.text) },
        },
        expect: anonymous ?? { refused },
      })
    }
  }
  return probes
}
