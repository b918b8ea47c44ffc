/**
 * Private keys at rest are ciphertext: AES-256-GCM under the control plane's encryption key, each
 * ciphertext bound to where it belongs (a Secret's mesh and name, a Mesh's inline key), so that a
 * copy elsewhere no longer decrypts. Text form: `v1:` and the base64 of IV, ciphertext and tag.
 */
import { MeshcaError } from '../errors.ts'
import { concatBytes, fromBase64, toArrayBuffer, toBase64, utf8 } from '../util/bytes.ts'

/** AES-256: the raw key is 32 bytes. */
export const ENCRYPTION_KEY_BYTES = 32

const FORMAT_PREFIX = 'v1:'
/** 96 bits: the IV size GCM is defined for; longer ones are hashed down and gain nothing. */
const IV_BYTES = 12
const TAG_BYTES = 16

/** Where a ciphertext belongs, e.g. `['meshca/secret/v1', mesh, name]`. */
export type Binding = readonly string[]

export interface AtRestEncryption {
  /** `data` as `v1:<base64>`, bound to `binding`. */
  seal(data: Uint8Array, binding: Binding): Promise<string>
  /**
   * The data `seal` was given; CORRUPTED when `text` is not in the format, or was sealed with
   * another key or for another binding, or was altered. `what` names it in the message.
   */
  open(text: string, binding: Binding, what: string): Promise<Uint8Array>
}

/** 32 random bytes: a fresh encryption key, for the embedded default's first start. */
export function generateEncryptionKey(crypto: Crypto = globalThis.crypto): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(ENCRYPTION_KEY_BYTES))
}

/** A non-extractable AES-256-GCM key from its raw bytes. */
export async function importEncryptionKey(
  raw: Uint8Array,
  crypto: Crypto = globalThis.crypto
): Promise<CryptoKey> {
  checkRawKey(raw)
  return crypto.subtle.importKey('raw', toArrayBuffer(raw), { name: 'AES-GCM' }, false, [
    'encrypt',
    'decrypt',
  ])
}

/** Checks the key now, so that a bad one fails at start-up; raw bytes are imported on first use. */
export function createAtRestEncryption(
  encryptionKey: CryptoKey | Uint8Array,
  crypto: Crypto
): AtRestEncryption {
  const loadKey = keyLoader(encryptionKey, crypto)
  return {
    async seal(data, binding) {
      const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES))
      const sealed = await crypto.subtle.encrypt(
        { name: 'AES-GCM', iv, additionalData: associatedData(binding), tagLength: TAG_BYTES * 8 },
        await loadKey(),
        toArrayBuffer(data)
      )
      return `${FORMAT_PREFIX}${toBase64(concatBytes([iv, new Uint8Array(sealed)]))}`
    },
    async open(text, binding, what) {
      const envelope = parseEnvelope(text)
      if (envelope === undefined) {
        throw new MeshcaError('CORRUPTED', `${what} is not in the encrypted format`)
      }
      try {
        const plain = await crypto.subtle.decrypt(
          {
            name: 'AES-GCM',
            iv: toArrayBuffer(envelope.iv),
            additionalData: associatedData(binding),
            tagLength: TAG_BYTES * 8,
          },
          await loadKey(),
          toArrayBuffer(envelope.sealed)
        )
        return new Uint8Array(plain)
      } catch (error) {
        throw new MeshcaError(
          'CORRUPTED',
          `${what} cannot be decrypted: wrong encryption key or altered data`,
          { cause: error }
        )
      }
    },
  }
}

/** JSON keeps the encoding unambiguous whatever characters the names hold. */
function associatedData(binding: Binding): ArrayBuffer {
  return toArrayBuffer(utf8(JSON.stringify(binding)))
}

interface Envelope {
  readonly iv: Uint8Array
  /** Ciphertext followed by the tag, as WebCrypto takes and gives it. */
  readonly sealed: Uint8Array
}

function parseEnvelope(text: string): Envelope | undefined {
  if (!text.startsWith(FORMAT_PREFIX)) return undefined
  const bytes = fromBase64(text.slice(FORMAT_PREFIX.length))
  if (bytes === undefined || bytes.length < IV_BYTES + TAG_BYTES) return undefined
  return { iv: bytes.subarray(0, IV_BYTES), sealed: bytes.subarray(IV_BYTES) }
}

function keyLoader(source: CryptoKey | Uint8Array, crypto: Crypto): () => Promise<CryptoKey> {
  if (!(source instanceof Uint8Array)) {
    checkCryptoKey(source)
    const ready = Promise.resolve(source)
    return () => ready
  }
  checkRawKey(source)
  // Copied now: the caller may wipe its buffer once the manager exists.
  const raw = source.slice()
  let imported: Promise<CryptoKey> | undefined
  return () => {
    imported ??= importEncryptionKey(raw, crypto)
    return imported
  }
}

function checkRawKey(raw: Uint8Array): void {
  if (raw.length !== ENCRYPTION_KEY_BYTES) {
    throw new MeshcaError(
      'INVALID',
      `the secret encryption key must be ${ENCRYPTION_KEY_BYTES} bytes, not ${raw.length}`,
      { path: 'encryptionKey' }
    )
  }
}

function checkCryptoKey(cryptoKey: CryptoKey): void {
  const algorithm = cryptoKey.algorithm as Partial<AesKeyAlgorithm>
  const usable = cryptoKey.usages.includes('encrypt') && cryptoKey.usages.includes('decrypt')
  if (algorithm.name !== 'AES-GCM' || algorithm.length !== 256 || !usable) {
    throw new MeshcaError(
      'INVALID',
      'the secret encryption key must be an AES-GCM 256-bit key usable to encrypt and decrypt',
      { path: 'encryptionKey' }
    )
  }
}
