import { describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { isMeshcaError } from '../errors.ts'
import {
  checkJsonBounds,
  checkYamlBounds,
  type DocumentBounds,
  REQUEST_BODY_BOUNDS,
} from './document-bounds.ts'

function refusal(check: () => void): string {
  try {
    check()
  } catch (error) {
    if (!isMeshcaError(error, 'INVALID')) throw error
    return error.violations[0]?.message ?? ''
  }
  return 'accepted'
}

/** A deterministic pseudo-random sequence, so that a failing case can be replayed. */
function random(seed: number): () => number {
  let state = seed
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648
    return state / 2_147_483_648
  }
}

/** A value nesting exactly `depth` collections on its deepest path, with siblings around it. */
function nested(depth: number, next: () => number): unknown {
  if (depth === 0) return next() < 0.5 ? 'leaf' : 42
  const inner = nested(depth - 1, next)
  const kind = next()
  if (kind < 0.33) return [inner, 'x', { k: 1 }]
  if (kind < 0.66) return { key: inner, other: [1, 2] }
  return [{ a: inner }]
}

function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0
  let deepest = 0
  for (const item of Object.values(value)) deepest = Math.max(deepest, depthOf(item))
  return deepest + 1
}

const STYLES = [
  { name: 'block', options: {} },
  { name: 'flow', options: { collectionStyle: 'flow' as const } },
  { name: 'block, wide indent', options: { indent: 4, indentSeq: false } },
]

describe('checkYamlBounds', () => {
  it('counts block and flow nesting exactly on a generated corpus of 500 documents', () => {
    const next = random(7)
    let cases = 0
    for (const style of STYLES) {
      for (let depth = 1; depth <= 72; depth++) {
        for (let variant = 0; variant < 3; variant++) {
          const value = nested(depth, next)
          const text = stringify(value, style.options)
          const real = depthOf(value)
          const bounds = { ...REQUEST_BODY_BOUNDS, maxDepth: real }
          expect(
            refusal(() => checkYamlBounds(text, bounds)),
            `${style.name}: ${text}`
          ).toBe('accepted')
          expect(
            refusal(() => checkYamlBounds(text, { ...bounds, maxDepth: real - 1 })),
            `${style.name}: ${text}`
          ).toMatch(/^more than \d+ levels of nesting at line \d+, column \d+$/)
          cases++
        }
      }
    }
    expect(cases).toBeGreaterThanOrEqual(500)
  })

  it('refuses the shapes that exhaust a parser, before parsing them', () => {
    const attacks = [
      '['.repeat(24_000),
      '{a: '.repeat(24_000),
      '- '.repeat(24_000),
      '? '.repeat(24_000),
      Array.from({ length: 2_000 }, (_, i) => `${' '.repeat(i)}k:`).join('\n'),
      `- ${'[- '.repeat(10_000)}`,
    ]
    for (const text of attacks) {
      expect(refusal(() => checkYamlBounds(text, REQUEST_BODY_BOUNDS))).toMatch(
        /^more than 64 levels of nesting at line \d+, column \d+$/
      )
    }
  })

  it('counts every token, so that a megabyte of punctuation never reaches the parser', () => {
    const megabyte = 1024 * 1024
    for (const unit of [',', '&a ', '!t ', ': ', '- ', '? ', '*a ', '"" ', '# c\n']) {
      const text = unit === ',' ? `[${','.repeat(megabyte)}]` : unit.repeat(megabyte / unit.length)
      const started = performance.now()
      const outcome = refusal(() => checkYamlBounds(text, REQUEST_BODY_BOUNDS))
      // A broken scan parses all of it (seconds and a gigabyte); this one stops early.
      expect(performance.now() - started, JSON.stringify(unit)).toBeLessThan(5_000)
      expect(outcome, JSON.stringify(unit)).toMatch(
        /^more than (20000 values|100 aliases|64 levels)/
      )
    }
  })

  it('counts the mappings a parser nests before it finds an error', () => {
    // `[a: [a: …]]`: each pair in a flow sequence is a mapping of its own.
    expect(
      refusal(() => checkYamlBounds(`${'[a: '.repeat(40)}1${']'.repeat(40)}`, REQUEST_BODY_BOUNDS))
    ).toMatch(/^more than 64 levels of nesting/)
    expect(
      refusal(() =>
        checkYamlBounds(`${'[a: 1, '.repeat(40)}1${']'.repeat(40)}`, REQUEST_BODY_BOUNDS)
      )
    ).toBe('accepted')
    // `b: b: b: …` on one line nests in the parser before it says the line is wrong.
    expect(refusal(() => checkYamlBounds(`${'b: '.repeat(100)}c\n`, REQUEST_BODY_BOUNDS))).toMatch(
      /^more than 64 levels of nesting/
    )
  })

  it('refuses structure indented past the parser-safe column, whatever the count', () => {
    const text = `${' '.repeat(2_000)}- x\n`
    expect(refusal(() => checkYamlBounds(text, REQUEST_BODY_BOUNDS))).toBe(
      'structure indented beyond column 1024 at line 1, column 2001'
    )
    // A long value after a key is no structure.
    expect(
      refusal(() => checkYamlBounds(`key: "${'x'.repeat(5_000)}"\n`, REQUEST_BODY_BOUNDS))
    ).toBe('accepted')
  })

  it('bounds values, aliases and documents', () => {
    const bounds: DocumentBounds = { maxDepth: 64, maxNodes: 30, maxAliases: 2, maxDocuments: 2 }
    expect(refusal(() => checkYamlBounds(`[${'1,'.repeat(20)}]`, bounds))).toBe(
      'more than 30 values'
    )
    expect(refusal(() => checkYamlBounds('a: &x 1\nb: [*x, *x, *x]\n', bounds))).toBe(
      'more than 2 aliases'
    )
    expect(refusal(() => checkYamlBounds('a: 1\n---\nb: 2\n---\nc: 3\n', bounds))).toBe(
      'more than 2 YAML documents'
    )
    // Empty documents (a leading or trailing `---`, comments only) hold nothing and are not counted.
    expect(
      refusal(() => checkYamlBounds('---\na: 1\n---\n# end\n---\n', { ...bounds, maxDocuments: 1 }))
    ).toBe('accepted')
  })

  it('accepts what Kuma resources look like', () => {
    const mesh = `type: Mesh
name: default
mtls:
  enabledBackend: ca-1
  backends:
    - name: ca-1
      type: provided
      conf:
        cert:
          inlineString: |
            -----BEGIN CERTIFICATE-----
            MIIB
            -----END CERTIFICATE-----
        key: { secret: my-key }
      dpCert: { rotation: { expiration: 1d } }
`
    expect(refusal(() => checkYamlBounds(mesh, REQUEST_BODY_BOUNDS))).toBe('accepted')
  })
})

describe('checkJsonBounds', () => {
  it('counts nesting outside strings only', () => {
    expect(refusal(() => checkJsonBounds('['.repeat(65), REQUEST_BODY_BOUNDS))).toBe(
      'more than 64 levels of nesting at line 1, column 65'
    )
    expect(
      refusal(() => checkJsonBounds(`${'['.repeat(64)}${']'.repeat(64)}`, REQUEST_BODY_BOUNDS))
    ).toBe('accepted')
    const inString = `{"a": "${'['.repeat(100)}\\"${'{'.repeat(100)}"}`
    expect(refusal(() => checkJsonBounds(inString, REQUEST_BODY_BOUNDS))).toBe('accepted')
    expect(
      refusal(() => checkJsonBounds(`{\n "a":\n  ${'['.repeat(70)}`, REQUEST_BODY_BOUNDS))
    ).toBe('more than 64 levels of nesting at line 3, column 66')
  })

  it('bounds the number of values', () => {
    expect(refusal(() => checkJsonBounds(`[${'1,'.repeat(20_000)}1]`, REQUEST_BODY_BOUNDS))).toBe(
      'more than 20000 values'
    )
  })
})
