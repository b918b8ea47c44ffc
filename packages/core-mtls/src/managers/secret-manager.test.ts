import { describe, expect, it } from 'vitest'
import { createMemoryStore } from '../adapters/memory-store.ts'
import type { ErrorCode, MeshcaError, Violation } from '../errors.ts'
import { isMeshcaError } from '../errors.ts'
import type { Store } from '../ports/store.ts'
import type { JsonObject } from '../resources/types.ts'
import { fromBase64, toBase64, toHex, utf8 } from '../util/bytes.ts'
import {
  ENCRYPTION_KEY_BYTES,
  generateEncryptionKey,
  importEncryptionKey,
} from './at-rest-encryption.ts'
import type { SecretGuard, SecretManager, SecretRecord } from './secret-manager.ts'
import { createSecretManager } from './secret-manager.ts'

const PLAINTEXT = `-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEAwJ2Qm7bCgmEXAMPLEONLYnotarealkeybutlongenoughtobesure
c29tZSByZWNvZ25pc2FibGUgcGxhaW50ZXh0IHRoYXQgbXVzdCBuZXZlciBsZWFr
-----END RSA PRIVATE KEY-----
`
const DATA = utf8(PLAINTEXT)

function secretKey(mesh: string, name: string) {
  return { type: 'Secret', mesh, name } as const
}

function setup(options: { guard?: SecretGuard; store?: Store; key?: Uint8Array } = {}): {
  store: Store
  secrets: SecretManager
  key: Uint8Array
} {
  const store = options.store ?? createMemoryStore()
  const key = options.key ?? generateEncryptionKey(crypto)
  const secrets = createSecretManager({
    store,
    encryptionKey: key,
    crypto,
    ...(options.guard === undefined ? {} : { guard: options.guard }),
  })
  return { store, secrets, key }
}

async function mustGet(secrets: SecretManager, mesh: string, name: string): Promise<SecretRecord> {
  const record = await secrets.get(mesh, name)
  if (record === undefined) throw new Error(`no secret ${mesh}/${name}`)
  return record
}

async function rawSpec(store: Store, mesh: string, name: string): Promise<JsonObject> {
  const resource = await store.get(secretKey(mesh, name))
  if (resource === undefined) throw new Error(`no row for ${mesh}/${name}`)
  return resource.spec
}

function sealedBytes(spec: JsonObject): Uint8Array {
  const text = spec.encrypted
  if (typeof text !== 'string' || !text.startsWith('v1:')) throw new Error('not an envelope')
  const bytes = fromBase64(text.slice(3))
  if (bytes === undefined) throw new Error('not base64')
  return bytes
}

function containsBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer
    return true
  }
  return false
}

async function expectMeshcaError(action: Promise<unknown>, code: ErrorCode): Promise<MeshcaError> {
  let outcome: { readonly error: unknown } | undefined
  try {
    await action
  } catch (error) {
    outcome = { error }
  }
  if (outcome === undefined) return expect.fail(`expected a rejection with ${code}`)
  const error = outcome.error
  if (!isMeshcaError(error)) return expect.fail(`expected a MeshcaError, got ${String(error)}`)
  expect(error.code, error.message).toBe(code)
  return error
}

/** Nothing of the secret may appear in an error: not the text, its base64, or its hex. */
function expectNoSecretIn(error: MeshcaError): void {
  const shown = `${error.message} ${JSON.stringify(error.violations)}`
  expect(shown).not.toContain('BEGIN RSA')
  expect(shown).not.toContain(toBase64(DATA).slice(0, 24))
  expect(shown).not.toContain(toHex(DATA).slice(0, 24))
}

describe('SecretManager encryption at rest', () => {
  it('stores only an AES-GCM envelope, with no trace of the plaintext', async () => {
    const { store, secrets } = setup()
    await secrets.create('default', 'ca-key', DATA)
    const spec = await rawSpec(store, 'default', 'ca-key')
    expect(Object.keys(spec)).toEqual(['encrypted'])
    expect(spec.encrypted).toMatch(/^v1:[A-Za-z0-9+/]+={0,2}$/)
    const stored = JSON.stringify(spec)
    expect(stored).not.toContain('BEGIN RSA')
    expect(stored).not.toContain('realkey')
    // Base64 of the data at each of the three byte alignments, as it would appear inside a
    // longer base64 text.
    for (const shift of [0, 1, 2]) {
      expect(stored).not.toContain(toBase64(DATA.subarray(shift)).slice(4, 40))
    }
    expect(stored).not.toContain(toHex(DATA).slice(0, 32))
    const sealed = sealedBytes(spec)
    expect(sealed.length).toBe(12 + DATA.length + 16)
    expect(containsBytes(sealed, DATA.subarray(0, 16))).toBe(false)
    expect(containsBytes(sealed, DATA.subarray(40, 56))).toBe(false)
  })

  it('uses a fresh IV for every write, so equal data never gives equal rows', async () => {
    const { store, secrets } = setup()
    await secrets.create('default', 'one', DATA)
    await secrets.create('default', 'two', DATA)
    await secrets.update('default', 'one', DATA, (await mustGet(secrets, 'default', 'one')).version)
    const first = sealedBytes(await rawSpec(store, 'default', 'one'))
    const second = sealedBytes(await rawSpec(store, 'default', 'two'))
    expect(toHex(first.subarray(0, 12))).not.toBe(toHex(second.subarray(0, 12)))
    expect(toHex(first)).not.toBe(toHex(second))
    expect((await mustGet(secrets, 'default', 'one')).data).toEqual(DATA)
  })

  it('gives the data back through get, list, update and the system access', async () => {
    const { secrets } = setup()
    await secrets.create('default', 'round-trip', DATA)
    const created = await mustGet(secrets, 'default', 'round-trip')
    expect(created).toMatchObject({ mesh: 'default', name: 'round-trip', data: DATA })
    expect(created.creationTime).toBeInstanceOf(Date)
    const read = await secrets.get('default', 'round-trip')
    expect(read?.data).toEqual(DATA)
    expect(read?.version).toBe(created.version)
    expect(read?.creationTime).toEqual(created.creationTime)
    expect(read?.modificationTime).toEqual(created.modificationTime)

    const binary = Uint8Array.from({ length: 256 }, (_, i) => i)
    await secrets.update('default', 'round-trip', binary, created.version)
    expect((await mustGet(secrets, 'default', 'round-trip')).version).not.toBe(created.version)
    expect((await secrets.get('default', 'round-trip'))?.data).toEqual(binary)
    expect((await secrets.system.get('default', 'round-trip'))?.data).toEqual(binary)

    await secrets.create('default', 'empty', new Uint8Array())
    expect((await secrets.get('default', 'empty'))?.data).toEqual(new Uint8Array())
    expect(await secrets.get('default', 'absent')).toBeUndefined()
  })

  it('lists decrypted secrets with the store pagination', async () => {
    const { secrets } = setup()
    for (const [mesh, name] of [
      ['b', 'x'],
      ['a', 'y'],
      ['a', 'x'],
      ['c', 'z'],
      ['b', 'w'],
    ] as const) {
      await secrets.create(mesh, name, utf8(`${mesh}/${name}`))
    }
    const first = await secrets.list({ size: 2 })
    expect(first.total).toBe(5)
    expect(first.items.map((s) => `${s.mesh}/${s.name}`)).toEqual(['a/x', 'a/y'])
    expect(first.items.map((s) => new TextDecoder().decode(s.data))).toEqual(['a/x', 'a/y'])
    const second = await secrets.list({ size: 2, offset: first.next ?? '' })
    const third = await secrets.list({ size: 2, offset: second.next ?? '' })
    expect([...second.items, ...third.items].map((s) => `${s.mesh}/${s.name}`)).toEqual([
      'b/w',
      'b/x',
      'c/z',
    ])
    expect(third.next).toBeUndefined()
    expect('next' in third).toBe(false)
    const filtered = await secrets.list({ mesh: 'b' })
    expect(filtered.total).toBe(2)
    await expectMeshcaError(secrets.list({ size: 2000 }), 'INVALID')
  })

  it('hands out data that callers can change without changing the secret', async () => {
    const { secrets } = setup()
    const input = DATA.slice()
    await secrets.create('default', 'isolated', input)
    input.fill(0)
    const read = await secrets.get('default', 'isolated')
    expect(read?.data).toEqual(DATA)
    read?.data.fill(0)
    expect((await secrets.get('default', 'isolated'))?.data).toEqual(DATA)
  })

  it('keeps optimistic concurrency', async () => {
    const { secrets } = setup()
    await secrets.create('default', 'contended', DATA)
    const created = await mustGet(secrets, 'default', 'contended')
    await secrets.update('default', 'contended', utf8('new'), created.version)
    await expectMeshcaError(
      secrets.update('default', 'contended', utf8('lost'), created.version),
      'CONFLICT'
    )
    await expectMeshcaError(secrets.create('default', 'contended', DATA), 'ALREADY_EXISTS')
    await expectMeshcaError(secrets.update('default', 'absent', DATA, created.version), 'NOT_FOUND')
    await expectMeshcaError(secrets.delete('default', 'contended', created.version), 'CONFLICT')
    await secrets.delete('default', 'contended')
    await expectMeshcaError(secrets.delete('default', 'contended'), 'NOT_FOUND')
  })
})

describe('SecretManager on unreadable rows', () => {
  async function corruptWith(
    change: (spec: JsonObject) => JsonObject
  ): Promise<{ secrets: SecretManager; store: Store }> {
    const { store, secrets } = setup()
    await secrets.create('default', 'victim', DATA)
    const row = await store.get(secretKey('default', 'victim'))
    if (row === undefined) throw new Error('no row')
    await store.update(secretKey('default', 'victim'), change(row.spec), row.version)
    return { store, secrets }
  }

  function flipByte(spec: JsonObject, index: (length: number) => number): JsonObject {
    const bytes = sealedBytes(spec).slice()
    const at = index(bytes.length)
    bytes[at] = (bytes[at] ?? 0) ^ 0x01
    return { encrypted: `v1:${toBase64(bytes)}` }
  }

  const tamperings: readonly [string, (spec: JsonObject) => JsonObject][] = [
    ['a flipped IV bit', (spec) => flipByte(spec, () => 0)],
    ['a flipped ciphertext bit', (spec) => flipByte(spec, () => 20)],
    ['a flipped tag bit', (spec) => flipByte(spec, (length) => length - 1)],
    [
      'a truncated ciphertext',
      (spec) => ({ encrypted: `v1:${toBase64(sealedBytes(spec).subarray(0, 40))}` }),
    ],
  ]

  for (const [what, change] of tamperings) {
    it(`reports ${what} as CORRUPTED, naming the secret only`, async () => {
      const { secrets } = await corruptWith(change)
      const error = await expectMeshcaError(secrets.get('default', 'victim'), 'CORRUPTED')
      expect(error.message).toContain('"victim"')
      expect(error.message).toContain('"default"')
      expectNoSecretIn(error)
      await expectMeshcaError(secrets.list(), 'CORRUPTED')
      await expectMeshcaError(secrets.system.get('default', 'victim'), 'CORRUPTED')
    })
  }

  const shapes: readonly [string, JsonObject][] = [
    ["Kuma's plain format", { data: toBase64(DATA) }],
    ['an unknown format version', { encrypted: `v2:${toBase64(new Uint8Array(64))}` }],
    ['a number', { encrypted: 42 }],
    ['text that is not base64', { encrypted: 'v1:not base64!' }],
    [
      'an envelope too short to hold an IV and a tag',
      { encrypted: `v1:${toBase64(new Uint8Array(27))}` },
    ],
    ['an empty spec', {}],
  ]

  it('reports a sound envelope with an extra field beside it as CORRUPTED', async () => {
    const { secrets } = await corruptWith((spec) => ({ ...spec, data: toBase64(DATA) }))
    const error = await expectMeshcaError(secrets.get('default', 'victim'), 'CORRUPTED')
    expectNoSecretIn(error)
  })

  for (const [what, spec] of shapes) {
    it(`reports ${what} as CORRUPTED without echoing it`, async () => {
      const { secrets } = await corruptWith(() => spec)
      const error = await expectMeshcaError(secrets.get('default', 'victim'), 'CORRUPTED')
      expect(error.message).toContain('"victim"')
      expectNoSecretIn(error)
    })
  }

  it('reports a row written under another key as CORRUPTED', async () => {
    const store = createMemoryStore()
    const writer = setup({ store }).secrets
    const reader = setup({ store }).secrets
    await writer.create('default', 'foreign', DATA)
    expect((await writer.get('default', 'foreign'))?.data).toEqual(DATA)
    const error = await expectMeshcaError(reader.get('default', 'foreign'), 'CORRUPTED')
    expect(error.message).toContain('"foreign"')
    expectNoSecretIn(error)
  })

  it('reads with the same key given as bytes or as a CryptoKey', async () => {
    const store = createMemoryStore()
    const raw = generateEncryptionKey(crypto)
    await setup({ store, key: raw }).secrets.create('default', 'shared', DATA)
    const imported = createSecretManager({
      store,
      encryptionKey: await importEncryptionKey(raw, crypto),
      crypto,
    })
    expect((await imported.get('default', 'shared'))?.data).toEqual(DATA)
  })

  it('binds a ciphertext to its name and mesh', async () => {
    const { store, secrets } = setup()
    await secrets.create('default', 'original', DATA)
    const spec = await rawSpec(store, 'default', 'original')
    await store.create(secretKey('default', 'copy'), spec)
    await store.create(secretKey('other', 'original'), spec)
    await store.create(secretKey('defaul', 'toriginal'), spec)
    for (const [mesh, name] of [
      ['default', 'copy'],
      ['other', 'original'],
      ['defaul', 'toriginal'],
    ] as const) {
      const error = await expectMeshcaError(secrets.get(mesh, name), 'CORRUPTED')
      expect(error.message).toContain(JSON.stringify(name))
    }
    expect((await secrets.get('default', 'original'))?.data).toEqual(DATA)
  })
})

describe('SecretManager encryption keys', () => {
  it('generates 32 random bytes', () => {
    const first = generateEncryptionKey(crypto)
    const second = generateEncryptionKey(crypto)
    expect(first).toBeInstanceOf(Uint8Array)
    expect(first.length).toBe(ENCRYPTION_KEY_BYTES)
    expect(ENCRYPTION_KEY_BYTES).toBe(32)
    expect(toHex(first)).not.toBe(toHex(second))
  })

  it('imports raw bytes as a non-extractable AES-256-GCM key', async () => {
    const key = await importEncryptionKey(generateEncryptionKey(crypto), crypto)
    expect(key.algorithm).toMatchObject({ name: 'AES-GCM', length: 256 })
    expect(key.extractable).toBe(false)
    expect([...key.usages].sort()).toEqual(['decrypt', 'encrypt'])
  })

  it('refuses raw keys that are not 32 bytes, at once', async () => {
    for (const length of [0, 16, 24, 31, 33, 64]) {
      let thrown: unknown
      try {
        createSecretManager({
          store: createMemoryStore(),
          encryptionKey: new Uint8Array(length),
          crypto,
        })
      } catch (error) {
        thrown = error
      }
      expect(isMeshcaError(thrown, 'INVALID'), `length ${length}`).toBe(true)
      await expectMeshcaError(importEncryptionKey(new Uint8Array(length), crypto), 'INVALID')
    }
  })

  it('refuses a CryptoKey that is not AES-GCM 256 for encrypt and decrypt', async () => {
    const candidates: CryptoKey[] = [
      await crypto.subtle.generateKey({ name: 'AES-GCM', length: 128 }, false, [
        'encrypt',
        'decrypt',
      ]),
      await crypto.subtle.generateKey({ name: 'AES-CBC', length: 256 }, false, [
        'encrypt',
        'decrypt',
      ]),
      await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt']),
      await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign']),
    ]
    for (const encryptionKey of candidates) {
      expect(() =>
        createSecretManager({ store: createMemoryStore(), encryptionKey, crypto })
      ).toThrow(/AES-GCM 256/)
    }
    const good = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, [
      'encrypt',
      'decrypt',
    ])
    const secrets = createSecretManager({ store: createMemoryStore(), encryptionKey: good, crypto })
    await secrets.create('default', 's', DATA)
    expect((await secrets.get('default', 's'))?.data).toEqual(DATA)
  })

  it('keeps working after the caller wipes the key bytes it passed', async () => {
    const store = createMemoryStore()
    const raw = generateEncryptionKey(crypto)
    const kept = raw.slice()
    const secrets = createSecretManager({ store, encryptionKey: raw, crypto })
    raw.fill(0)
    await secrets.create('default', 's', DATA)
    const reader = createSecretManager({ store, encryptionKey: kept, crypto })
    expect((await reader.get('default', 's'))?.data).toEqual(DATA)
  })
})

interface GuardCall {
  readonly method: 'meshExists' | 'usage' | 'validateChange'
  readonly args: readonly unknown[]
}

function fakeGuard(config: {
  meshes: readonly string[]
  used?: Readonly<Record<string, string>>
  violations?: readonly Violation[]
}): SecretGuard & { calls: GuardCall[] } {
  const calls: GuardCall[] = []
  return {
    calls,
    async meshExists(mesh) {
      calls.push({ method: 'meshExists', args: [mesh] })
      return config.meshes.includes(mesh)
    },
    async usage(mesh, name) {
      calls.push({ method: 'usage', args: [mesh, name] })
      const backend = config.used?.[`${mesh}/${name}`]
      return backend === undefined ? undefined : { backend }
    },
    async validateChange(mesh, name, data) {
      calls.push({ method: 'validateChange', args: [mesh, name, data] })
      return config.violations ?? []
    },
  }
}

describe('SecretManager guard', () => {
  it('refuses writes in a missing mesh with MESH_NOT_FOUND at `mesh`', async () => {
    const guard = fakeGuard({ meshes: ['default'] })
    const { secrets, store } = setup({ guard })
    await secrets.create('default', 's', DATA)
    const created = await mustGet(secrets, 'default', 's')
    await store.create(secretKey('gone', 'orphan'), { encrypted: 'v1:AAAA' })
    const expected = [{ field: 'mesh', message: 'mesh of name gone is not found' }]

    const onCreate = await expectMeshcaError(secrets.create('gone', 's', DATA), 'MESH_NOT_FOUND')
    expect(onCreate.violations).toEqual(expected)
    const onUpdate = await expectMeshcaError(
      secrets.update('gone', 'orphan', DATA, created.version),
      'MESH_NOT_FOUND'
    )
    expect(onUpdate.violations).toEqual(expected)
    const onDelete = await expectMeshcaError(secrets.delete('gone', 'orphan'), 'MESH_NOT_FOUND')
    expect(onDelete.violations).toEqual(expected)

    expect(await store.get(secretKey('gone', 's'))).toBeUndefined()
    expect(await store.get(secretKey('gone', 'orphan'))).toBeDefined()
  })

  it("refuses to delete a secret in use, with Kuma's message at `name`", async () => {
    const guard = fakeGuard({ meshes: ['default'], used: { 'default/ca-cert': 'ca-1' } })
    const { secrets } = setup({ guard })
    await secrets.create('default', 'ca-cert', DATA)
    const error = await expectMeshcaError(secrets.delete('default', 'ca-cert'), 'INVALID')
    expect(error.violations).toEqual([
      {
        field: 'name',
        message:
          'The secret "ca-cert" that you are trying to remove is currently in use in Mesh "default" in mTLS backend "ca-1". Please remove the reference from the "ca-1" backend before removing the secret.',
      },
    ])
    expect((await secrets.get('default', 'ca-cert'))?.data).toEqual(DATA)
  })

  it('deletes a secret that no backend uses', async () => {
    const guard = fakeGuard({ meshes: ['default'], used: { 'default/ca-cert': 'ca-1' } })
    const { secrets } = setup({ guard })
    await secrets.create('default', 'unused', DATA)
    await secrets.delete('default', 'unused')
    expect(await secrets.get('default', 'unused')).toBeUndefined()
    expect(guard.calls).toContainEqual({ method: 'usage', args: ['default', 'unused'] })
  })

  it("rejects an update of a used secret with the guard's violations and keeps the old data", async () => {
    const violations = [{ field: 'data', message: 'the key does not match the certificate' }]
    const guard = fakeGuard({ meshes: ['default'], used: { 'default/ca-key': 'ca-1' }, violations })
    const { secrets } = setup({ guard })
    await secrets.system.create('default', 'ca-key', DATA)
    const stored = await mustGet(secrets, 'default', 'ca-key')
    const proposed = utf8('a different key')
    const error = await expectMeshcaError(
      secrets.update('default', 'ca-key', proposed, stored.version),
      'INVALID'
    )
    expect(error.violations).toEqual(violations)
    expect(guard.calls).toContainEqual({
      method: 'validateChange',
      args: ['default', 'ca-key', proposed],
    })
    const read = await secrets.get('default', 'ca-key')
    expect(read?.data).toEqual(DATA)
    expect(read?.version).toBe(stored.version)
  })

  it('checks the creation of a used secret that is missing as it checks an update', async () => {
    const violations = [{ field: 'data', message: 'not a PEM private key' }]
    const guard = fakeGuard({ meshes: ['default'], used: { 'default/ca-key': 'ca-1' }, violations })
    const { secrets } = setup({ guard })
    const error = await expectMeshcaError(secrets.create('default', 'ca-key', DATA), 'INVALID')
    expect(error.violations).toEqual(violations)
    expect(await secrets.get('default', 'ca-key')).toBeUndefined()
  })

  it('accepts an update of a used secret that the guard finds safe', async () => {
    const guard = fakeGuard({ meshes: ['default'], used: { 'default/ca-key': 'ca-1' } })
    const { secrets } = setup({ guard })
    await secrets.create('default', 'ca-key', DATA)
    const created = await mustGet(secrets, 'default', 'ca-key')
    const proposed = utf8('a compatible key')
    await secrets.update('default', 'ca-key', proposed, created.version)
    expect((await secrets.get('default', 'ca-key'))?.data).toEqual(proposed)
    expect(guard.calls.filter((c) => c.method === 'validateChange')).toHaveLength(2)
  })

  it('does not validate changes of secrets no backend uses', async () => {
    const guard = fakeGuard({
      meshes: ['default'],
      violations: [{ field: 'data', message: 'would be refused' }],
    })
    const { secrets } = setup({ guard })
    await secrets.create('default', 'plain', DATA)
    const created = await mustGet(secrets, 'default', 'plain')
    await secrets.update('default', 'plain', utf8('v2'), created.version)
    expect(guard.calls.some((c) => c.method === 'validateChange')).toBe(false)
  })

  it('lets the system access write and delete without asking the guard', async () => {
    const guard = fakeGuard({
      meshes: [],
      used: { 'new-mesh/new-mesh.ca-builtin-key-ca-1': 'ca-1' },
      violations: [{ field: 'data', message: 'would be refused' }],
    })
    const { secrets } = setup({ guard })
    const name = 'new-mesh.ca-builtin-key-ca-1'
    await secrets.system.create('new-mesh', name, DATA)
    const created = await mustGet(secrets, 'new-mesh', name)
    await secrets.system.update('new-mesh', name, utf8('repaired'), created.version)
    const updated = await mustGet(secrets, 'new-mesh', name)
    expect((await secrets.system.get('new-mesh', name))?.data).toEqual(utf8('repaired'))
    await secrets.system.delete('new-mesh', name, updated.version)
    expect(await secrets.get('new-mesh', name)).toBeUndefined()
    expect(guard.calls).toEqual([])
  })

  it('reads and lists without asking the guard', async () => {
    const guard = fakeGuard({ meshes: ['default'] })
    const { secrets } = setup({ guard })
    await secrets.system.create('gone', 'orphan', DATA)
    guard.calls.length = 0
    expect((await secrets.get('gone', 'orphan'))?.data).toEqual(DATA)
    expect((await secrets.list()).total).toBe(1)
    expect(guard.calls).toEqual([])
  })

  it('leaves an empty mesh to the store, which reports it as INVALID', async () => {
    const guard = fakeGuard({ meshes: ['default'] })
    const { secrets } = setup({ guard })
    const error = await expectMeshcaError(secrets.create('', 's', DATA), 'INVALID')
    expect(error.violations.map((v) => v.field)).toContain('mesh')
  })
})
