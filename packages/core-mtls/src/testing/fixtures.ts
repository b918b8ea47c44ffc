import '../polyfill.ts'
import * as x509 from '@peculiar/x509'
import { createBuiltinRoot } from '../ca/builtin.ts'
import type { CaContext, SecretAccess, StoredSecret } from '../ca/ca-backend.ts'
import type { KeyType } from '../ca/key-types.ts'
import { certificatesFromPem, decodePem } from '../ca/pem.ts'
import { parsePrivateKeyPem } from '../ca/private-key.ts'
import { signingCaId } from '../ca/signing-ca.ts'
import { MeshcaError } from '../errors.ts'
import { silentLogger, systemClock, webRandom } from '../ports/runtime.ts'
import type { SigningCa } from '../ports/signer.ts'
import { fromUtf8, toArrayBuffer } from '../util/bytes.ts'

export interface TestCa {
  readonly signing: SigningCa
  readonly certificatePem: string
  readonly keyPem: string
  readonly certificate: x509.X509Certificate
}

/** A root CA with the builtin profile, for adapters' tests. */
export async function createTestCa(
  options: { mesh?: string; keyType?: KeyType; crypto?: Crypto; lifetimeMs?: number } = {}
): Promise<TestCa> {
  const crypto = options.crypto ?? globalThis.crypto
  const root = await createBuiltinRoot(
    { crypto, clock: systemClock },
    options.mesh ?? 'default',
    options.keyType ?? 'RSA_2048',
    options.lifetimeMs ?? 365 * 24 * 3600 * 1000
  )
  return testCaFromPem(root.certificatePem, root.keyPem, crypto)
}

export async function testCaFromPem(
  certificatePem: string,
  keyPem: string,
  crypto: Crypto = globalThis.crypto
): Promise<TestCa> {
  const der = certificatesFromPem(certificatePem)[0]
  if (!der) throw new Error('no certificate in PEM')
  const key = parsePrivateKeyPem(decodePem(keyPem))
  return {
    signing: {
      id: await signingCaId(crypto, der, key.pkcs8),
      certificate: der,
      privateKey: key.pkcs8,
    },
    certificatePem,
    keyPem,
    certificate: new x509.X509Certificate(toArrayBuffer(der)),
  }
}

export function pemText(bytes: Uint8Array): string {
  return fromUtf8(bytes)
}

/** A SecretAccess over a Map, with versions, for CA backend tests (no encryption, no guard). */
export function memorySecretAccess(): SecretAccess & {
  readonly entries: Map<string, StoredSecret>
} {
  const entries = new Map<string, StoredSecret>()
  let version = 0
  const key = (mesh: string, name: string) => `${mesh}/${name}`
  return {
    entries,
    async get(mesh, name) {
      return entries.get(key(mesh, name))
    },
    async create(mesh, name, data) {
      if (entries.has(key(mesh, name))) {
        throw new MeshcaError(
          'ALREADY_EXISTS',
          `Resource already exists: type="Secret" name="${name}" mesh="${mesh}"`
        )
      }
      entries.set(key(mesh, name), { data: new Uint8Array(data), version: String(++version) })
    },
    async update(mesh, name, data, expectedVersion) {
      const current = entries.get(key(mesh, name))
      if (!current)
        throw new MeshcaError(
          'NOT_FOUND',
          `Resource not found: type="Secret" name="${name}" mesh="${mesh}"`
        )
      if (current.version !== expectedVersion) {
        throw new MeshcaError(
          'CONFLICT',
          `Resource conflict: type="Secret" name="${name}" mesh="${mesh}"`
        )
      }
      entries.set(key(mesh, name), { data: new Uint8Array(data), version: String(++version) })
    },
  }
}

/** A CaContext for tests: real crypto and clock, an in-memory secret store. */
export function testCaContext(overrides: Partial<CaContext> = {}): CaContext & {
  readonly secrets: ReturnType<typeof memorySecretAccess>
} {
  return {
    crypto: globalThis.crypto,
    clock: systemClock,
    random: webRandom(),
    logger: silentLogger,
    secrets: memorySecretAccess(),
    ...overrides,
  } as CaContext & { readonly secrets: ReturnType<typeof memorySecretAccess> }
}
