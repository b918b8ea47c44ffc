import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { isMeshcaError, MeshcaError } from '../errors.ts'
import { silentLogger, systemClock, webRandom } from '../ports/runtime.ts'
import type { DataSource } from '../resources/mesh.ts'
import { fromUtf8, utf8 } from '../util/bytes.ts'
import type { CaContext, SecretAccess, StoredSecret } from './ca-backend.ts'
import {
  asDataSource,
  dataSourceShapeError,
  decodeInlineBase64,
  FILE_SOURCES_DISABLED,
  loadDataSource,
  MAX_CA_FILE_BYTES,
  validateDataSource,
} from './data-source.ts'

const CHOSEN = 'data source has to be chosen. Available sources: secret, file, inline'

function secretsOf(entries: Record<string, string>, mesh = 'default'): SecretAccess {
  return {
    async get(m: string, name: string): Promise<StoredSecret | undefined> {
      const text = m === mesh ? entries[name] : undefined
      return text === undefined ? undefined : { data: utf8(text), version: '1' }
    },
    async create() {
      throw new Error('not used')
    },
    async update() {
      throw new Error('not used')
    },
  }
}

function context(secrets: SecretAccess, withFiles = true): CaContext {
  const base = {
    crypto: globalThis.crypto,
    clock: systemClock,
    random: webRandom(),
    logger: silentLogger,
    secrets,
  }
  return withFiles
    ? { ...base, readFile: async (path) => new Uint8Array(await readFile(path)) }
    : base
}

const dir = mkdtempSync(join(tmpdir(), 'meshca-data-source-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function loadError(ctx: CaContext, ds: DataSource, mesh = 'default'): Promise<MeshcaError> {
  const error = await loadDataSource(ctx, mesh, ds).then(
    () => undefined,
    (e: unknown) => e
  )
  if (!(error instanceof MeshcaError))
    throw new Error(`expected a MeshcaError, got ${String(error)}`)
  return error
}

describe('validateDataSource (docs/kuma-compatibility.md §1.5)', () => {
  it('asks for a source when there is none', () => {
    for (const ds of [undefined, null, {}, { secret: null }, { other: 'x' }, 'text']) {
      expect(validateDataSource(ds, 'cert')).toEqual([{ field: 'cert', message: CHOSEN }])
    }
  })

  it('rejects empty secret, inline and file at their own path', () => {
    expect(validateDataSource({ secret: '' }, 'cert')).toEqual([
      { field: 'cert.secret', message: 'cannot be empty' },
    ])
    expect(validateDataSource({ inline: '' }, 'conf.key')).toEqual([
      { field: 'conf.key.inline', message: 'cannot be empty' },
    ])
    expect(validateDataSource({ file: '' }, 'cert')).toEqual([
      { field: 'cert.file', message: 'cannot be empty' },
    ])
  })

  it('roots at the data source itself when the path is empty (Kuma’s PathBuilder)', () => {
    expect(validateDataSource({ secret: '' }, '')).toEqual([
      { field: 'secret', message: 'cannot be empty' },
    ])
    expect(validateDataSource({}, '')).toEqual([{ field: '', message: CHOSEN }])
  })

  it('accepts an empty inlineString, as Kuma does (it fails later, as a key pair)', () => {
    expect(validateDataSource({ inlineString: '' }, 'cert')).toEqual([])
  })

  it('accepts each kind of source', () => {
    for (const ds of [
      { secret: 's' },
      { file: '/f' },
      { inline: 'dGVzdA==' },
      { inlineString: 'x' },
    ]) {
      expect(validateDataSource(ds, 'cert')).toEqual([])
    }
  })

  it('reports a value that is not a data source at the data source', () => {
    expect(validateDataSource({ secret: 's', file: 'f' }, 'cert')).toEqual([
      {
        field: 'cert',
        message: 'only one of secret, file, inline, inlineString can be set, got secret and file',
      },
    ])
  })
})

describe('dataSourceShapeError (what makes Kuma’s ToTyped fail)', () => {
  it('accepts absent, empty and well-typed sources, ignoring unknown keys', () => {
    for (const ds of [
      undefined,
      null,
      {},
      { secret: 'a' },
      { inline: 'dGVzdA' },
      { secret: 'a', extra: 1 },
    ]) {
      expect(dataSourceShapeError(ds)).toBeUndefined()
    }
  })

  it('names the problem', () => {
    expect(dataSourceShapeError('x')).toBe('expected an object, got string')
    expect(dataSourceShapeError([])).toBe('expected an object, got array')
    expect(dataSourceShapeError({ secret: 5 })).toBe('secret: expected a string, got number')
    expect(dataSourceShapeError({ inlineString: {} })).toBe(
      'inlineString: expected a string, got object'
    )
    expect(dataSourceShapeError({ inline: '!!!' })).toBe('inline: not valid base64')
    expect(dataSourceShapeError({ inline: 'dGVzdA==', inlineString: 'x' })).toBe(
      'only one of secret, file, inline, inlineString can be set, got inline and inlineString'
    )
  })
})

describe('decodeInlineBase64 (protojson bytes)', () => {
  it('reads standard, URL-safe, unpadded and folded base64', () => {
    expect(fromUtf8(decodeInlineBase64('dGVzdA==') ?? new Uint8Array())).toBe('test')
    expect(fromUtf8(decodeInlineBase64('dGVzdA') ?? new Uint8Array())).toBe('test')
    expect(decodeInlineBase64('-_8=')).toEqual(new Uint8Array([0xfb, 0xff]))
    expect(decodeInlineBase64('+/8=')).toEqual(new Uint8Array([0xfb, 0xff]))
    expect(fromUtf8(decodeInlineBase64('dGVz\ndA==\n') ?? new Uint8Array())).toBe('test')
  })

  it('refuses what is not base64', () => {
    expect(decodeInlineBase64('!!!')).toBeUndefined()
    expect(decodeInlineBase64('+_8=')).toBeUndefined()
    expect(decodeInlineBase64('dGVzd=A')).toBeUndefined()
  })
})

describe('asDataSource', () => {
  it('keeps the chosen source only', () => {
    expect(asDataSource({ secret: 's', inline: null })).toEqual({ secret: 's' })
    expect(asDataSource({ inlineString: '' })).toEqual({ inlineString: '' })
    expect(asDataSource({})).toBeUndefined()
    expect(asDataSource('x')).toBeUndefined()
  })
})

describe('loadDataSource', () => {
  it('reads a Secret of the mesh', async () => {
    const ctx = context(secretsOf({ 'ca-cert': 'PEM' }))
    expect(fromUtf8(await loadDataSource(ctx, 'default', { secret: 'ca-cert' }))).toBe('PEM')
  })

  it('reports a missing Secret with Kuma’s message', async () => {
    const error = await loadError(context(secretsOf({ 'ca-cert': 'PEM' }, 'other')), {
      secret: 'ca-cert',
    })
    expect(error.code).toBe('CA_UNAVAILABLE')
    expect(error.message).toBe(
      'could not load data: Resource not found: type="Secret" name="ca-cert" mesh="default"'
    )
  })

  it('lets an error of the secret store through with its own code', async () => {
    const outage = new MeshcaError('STORE_UNAVAILABLE', 'connection refused')
    const secrets: SecretAccess = { ...secretsOf({}), get: () => Promise.reject(outage) }
    expect(await loadError(context(secrets), { secret: 'x' })).toBe(outage)
  })

  it('wraps any other failure of the secret store as a load error', async () => {
    const secrets: SecretAccess = {
      ...secretsOf({}),
      get: () => Promise.reject(new Error('boom')),
    }
    const error = await loadError(context(secrets), { secret: 'x' })
    expect([error.code, error.message]).toEqual(['CA_UNAVAILABLE', 'could not load data: boom'])
  })

  it('decodes inline base64 and encodes inlineString', async () => {
    const ctx = context(secretsOf({}))
    expect(fromUtf8(await loadDataSource(ctx, 'default', { inline: 'dGVzdA==' }))).toBe('test')
    expect(fromUtf8(await loadDataSource(ctx, 'default', { inlineString: 'café' }))).toBe('café')
  })

  it('fails on inline text that is not base64', async () => {
    const error = await loadError(context(secretsOf({})), { inline: '!!!' })
    expect(isMeshcaError(error, 'CA_UNAVAILABLE')).toBe(true)
    expect(error.message).toBe('could not load data: illegal base64 data in inline')
  })

  it('reads a file', async () => {
    const path = join(dir, 'ca.pem')
    writeFileSync(path, 'FILE PEM')
    expect(fromUtf8(await loadDataSource(context(secretsOf({})), 'default', { file: path }))).toBe(
      readFileSync(path, 'utf8')
    )
  })

  it('gives one message for every failure to read a file, whatever the cause', async () => {
    const unreadable = (path: string) =>
      `could not load data: open ${path}: not a readable regular file of at most 262144 bytes`
    const missing = join(dir, 'invalid.key')
    for (const path of [missing, 'testdata/invalid.key', dir]) {
      const error = await loadError(context(secretsOf({})), { file: path })
      expect([error.code, error.message]).toEqual(['CA_UNAVAILABLE', unreadable(path)])
    }
    const failing: CaContext = {
      ...context(secretsOf({})),
      readFile: () => Promise.reject(new Error('disk on fire')),
    }
    expect((await loadError(failing, { file: '/x' })).message).toBe(unreadable('/x'))
  })

  it('refuses more than the size cap, even from a host reader that returned it', async () => {
    let asked = 0
    const lenient: CaContext = {
      ...context(secretsOf({})),
      readFile: async (_path, maxBytes) => {
        asked = maxBytes
        return new Uint8Array(MAX_CA_FILE_BYTES + 1)
      },
    }
    const error = await loadError(lenient, { file: '/dev/zero' })
    expect(asked).toBe(MAX_CA_FILE_BYTES)
    expect(error.message).toBe(
      'could not load data: open /dev/zero: not a readable regular file of at most 262144 bytes'
    )
  })

  it('fails where the control plane has no file access', async () => {
    const error = await loadError(context(secretsOf({}), false), { file: '/etc/ca.pem' })
    expect(error.code).toBe('CA_UNAVAILABLE')
    expect(error.message).toBe(`could not load data: ${FILE_SOURCES_DISABLED}`)
  })
})
