/**
 * Bad input through the package's public entry: every failure is a MeshcaError with a field path
 * where one applies; nothing escapes as an untyped error.
 */

import { CA_EXTENSIONS, OpensslCaBuilder } from '@meshca/test-support/openssl'
import { afterAll, describe, expect, it } from 'vitest'
import {
  decodeResource,
  isMeshcaError,
  parseYamlDocuments,
  type Resource,
  specFromJson,
  validateResource,
} from '../src/index.ts'
import { memoryCore } from './memory-core.ts'

function caught(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a failure')
}

describe('garbage documents', () => {
  it.each([
    ['unclosed flow mapping', 'type: Mesh\nname: {a'],
    ['tab indentation', 'type: Mesh\n\tname: x'],
    ['duplicate keys', 'type: Mesh\nname: a\nname: b'],
    ['unterminated quote', 'name: "abc'],
  ])('YAML with %s is INVALID', (_label, text) => {
    const error = caught(() => parseYamlDocuments(text))
    expect(isMeshcaError(error, 'INVALID')).toBe(true)
  })

  it.each([
    ['null', null],
    ['a number', 42],
    ['an array', []],
    ['an unknown type', { type: 'Nope', name: 'x' }],
    ['no name', { type: 'Mesh' }],
    ['a wrongly typed mtls', { type: 'Mesh', name: 'm', mtls: { backends: 'x' } }],
    ['a non-base64 secret', { type: 'Secret', name: 's', mesh: 'default', data: '***' }],
  ])('a resource that is %s is refused: INVALID when decoded, or violations', (_label, value) => {
    let violations: unknown[]
    try {
      violations = validateResource(decodeResource(value))
    } catch (error) {
      expect(isMeshcaError(error, 'INVALID')).toBe(true)
      return
    }
    expect(violations.length).toBeGreaterThan(0)
  })

  it('deeply nested and very long values are INVALID, not a stack overflow', () => {
    let deep: unknown = {}
    for (let i = 0; i < 10_000; i++) deep = { a: deep }
    const error = caught(() => decodeResource({ type: 'Mesh', name: 'm', logging: deep }))
    expect(isMeshcaError(error, 'INVALID')).toBe(true)
    const long = decodeResource({
      type: 'Mesh',
      name: 'm',
      mtls: {
        enabledBackend: 'a',
        backends: [{ name: 'a', type: 'builtin', dpCert: { rotation: { expiration: '8000y' } } }],
      },
    })
    expect(validateResource(long)).toEqual([
      { field: 'mtls.backends[0].dpCert.rotation.expiration', message: 'has to be a valid format' },
    ])
  })

  it('over-long and badly formed names are violations at `name`', () => {
    const long = decodeResource({ type: 'Mesh', name: 'a'.repeat(64) })
    expect(validateResource(long)).toEqual([
      { field: 'name', message: 'cannot be longer than 63 characters' },
    ])
    const bad = decodeResource({
      type: 'TrafficPermission',
      name: 'Bad!',
      mesh: 'default',
      sources: [{ match: { 'kuma.io/service': '*' } }],
      destinations: [{ match: { 'kuma.io/service': '*' } }],
    })
    expect(validateResource(bad).map((v) => v.field)).toEqual(['name'])
  })

  it('random mutations of a valid Mesh never throw an untyped error', () => {
    const base = {
      type: 'Mesh',
      name: 'default',
      mtls: {
        enabledBackend: 'ca-1',
        backends: [
          {
            name: 'ca-1',
            type: 'builtin',
            dpCert: { rotation: { expiration: '1d' } },
            conf: { caCert: { RSAbits: 2048 } },
          },
        ],
      },
    }
    const junk = [
      null,
      0,
      -1,
      1.5,
      '',
      'x',
      true,
      [],
      {},
      [1, 'a'],
      { a: null },
      'PERMISSIVE',
      Number.POSITIVE_INFINITY,
      2 ** 60,
    ]
    let seed = 7
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed
    }
    const paths: string[][] = []
    const walk = (value: unknown, path: string[]) => {
      paths.push(path)
      if (value && typeof value === 'object') {
        for (const [k, v] of Object.entries(value)) walk(v, [...path, k])
      }
    }
    walk(base, [])
    for (let i = 0; i < 2000; i++) {
      const copy = structuredClone(base) as Record<string, unknown>
      const path = paths[next() % paths.length] ?? []
      const value = junk[next() % junk.length]
      if (path.length === 0) continue
      let target = copy as Record<string, unknown>
      for (const key of path.slice(0, -1)) target = target[key] as Record<string, unknown>
      target[path.at(-1) ?? ''] = value
      try {
        validateResource(decodeResource(copy))
      } catch (error) {
        if (!isMeshcaError(error)) throw error
        expect(error.code).toBe('INVALID')
      }
    }
  })
})

describe('bad CA material on a Mesh', () => {
  const openssl = new OpensslCaBuilder()
  afterAll(() => openssl.dispose())
  const enc = new TextEncoder()

  async function createProvided(certPem: string, keyPem: string) {
    const { core } = memoryCore()
    await core.meshes.create({ type: 'Mesh', name: 'default', mesh: '', spec: { other: {} } })
    await core.secrets.create('default', 'cert', enc.encode(certPem))
    await core.secrets.create('default', 'key', enc.encode(keyPem))
    const spec = specFromJson('Mesh', {
      mtls: {
        enabledBackend: 'ca-1',
        backends: [
          {
            name: 'ca-1',
            type: 'provided',
            conf: { cert: { secret: 'cert' }, key: { secret: 'key' } },
          },
        ],
      },
    })
    const current = await core.meshes.get('default')
    const mesh: Resource<'Mesh'> = {
      type: 'Mesh',
      name: 'default',
      mesh: '',
      spec,
      ...(current?.meta ? { meta: current.meta } : {}),
    }
    return core.meshes.update(mesh).then(
      () => undefined,
      (error: unknown) => error
    )
  }

  it('malformed PEM, a wrong key, an expired CA, a non-CA, a chain that does not chain', async () => {
    const good = openssl.root('Good', { extensions: CA_EXTENSIONS })
    const other = openssl.root('Other', { extensions: CA_EXTENSIONS })
    const expired = openssl.root('Expired', {
      extensions: CA_EXTENSIONS,
      notBefore: '20200101000000Z',
      notAfter: '20210101000000Z',
    })
    const leafLike = openssl.root('NotACa', {
      extensions: ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature'],
    })
    const intermediate = openssl.signed('Intermediate', good, { extensions: CA_EXTENSIONS })
    const cases: [string, string, string, string][] = [
      [
        'malformed PEM',
        '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n',
        good.keyPem,
        'mtls.backends[0].conf.cert',
      ],
      ['a wrong key', good.certPem, other.keyPem, 'mtls.backends[0].conf.cert'],
      ['an expired CA', expired.certPem, expired.keyPem, 'mtls.backends[0].conf.cert[0]'],
      ['a non-CA certificate', leafLike.certPem, leafLike.keyPem, 'mtls.backends[0].conf.cert[0]'],
      [
        'a chain that does not chain',
        intermediate.certPem + other.certPem,
        intermediate.keyPem,
        'mtls.backends[0].conf.cert[0]',
      ],
    ]
    for (const [label, cert, key, field] of cases) {
      const error = await createProvided(cert, key)
      expect(isMeshcaError(error, 'INVALID'), label).toBe(true)
      if (isMeshcaError(error))
        expect(
          error.violations.map((v) => v.field),
          label
        ).toContain(field)
    }
    expect(
      await createProvided(intermediate.certPem + good.certPem, intermediate.keyPem)
    ).toBeUndefined()
  })
})
