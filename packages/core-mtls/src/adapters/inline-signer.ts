import '../polyfill.ts'
import * as x509 from '@peculiar/x509'
import { type KeyType, keyFamily, keyGenParams } from '../ca/key-types.ts'
import {
  ecdsaHash,
  importPrivateKey,
  type ParsedPrivateKey,
  parsePkcs8,
} from '../ca/private-key.ts'
import { MeshcaError, toMeshcaError } from '../errors.ts'
import { authorityKeyId, leafExtensions, spkiKeyFamily } from '../identity/leaf-profile.ts'
import type { IssueOutcome, KeyPairBytes, LeafRequest, Signer, SigningCa } from '../ports/signer.ts'
import { toArrayBuffer, toHex } from '../util/bytes.ts'

interface PreparedCa {
  readonly certificate: x509.X509Certificate
  readonly key: CryptoKey
  readonly algorithm: Algorithm | EcdsaParams
  readonly authorityKeyId: string
}

/** How many CAs a signer keeps imported; a mesh has a handful of backends, a fleet a few meshes. */
const CA_CACHE_SIZE = 64

/** The algorithm a CA key signs certificates with: Go's defaults for each key type. */
export function certificateSigningAlgorithm(key: ParsedPrivateKey): Algorithm | EcdsaParams {
  switch (key.algorithm.family) {
    case 'RSA':
      return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as Algorithm
    case 'EC':
      return { name: 'ECDSA', hash: ecdsaHash(key.algorithm.curve) }
    case 'Ed25519':
      return { name: 'Ed25519' }
  }
}

/** Serial bytes as the hex that @peculiar/x509 encodes as a positive INTEGER. */
export function serialHex(serial: Uint8Array): string {
  if (serial.length === 0 || serial.length > 20) {
    throw new MeshcaError('INVALID', 'serial number must be 1 to 20 bytes', {
      path: 'serialNumber',
    })
  }
  const hex = toHex(serial)
  // A leading 1 bit would read as a negative INTEGER; DER wants a 0x00 byte in front.
  return (serial[0] ?? 0) & 0x80 ? `00${hex}` : hex
}

export async function generateKeyPairBytes(
  crypto: Crypto,
  keyType: KeyType
): Promise<KeyPairBytes> {
  const pair = (await crypto.subtle.generateKey(keyGenParams(keyType), true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair
  const [spki, pkcs8] = await Promise.all([
    crypto.subtle.exportKey('spki', pair.publicKey),
    crypto.subtle.exportKey('pkcs8', pair.privateKey),
  ])
  return { keyType, spki: new Uint8Array(spki), pkcs8: new Uint8Array(pkcs8) }
}

/**
 * A Signer that builds and signs on the calling thread with @peculiar/x509. Right for tests, small
 * deployments and runtimes without worker pools; a control plane under load uses the pool in
 * `@meshca/signer-workers`, which implements the same port.
 */
export function createInlineSigner(options: { crypto?: Crypto } = {}): Signer {
  const crypto = options.crypto ?? globalThis.crypto
  const prepared = new Map<string, Promise<PreparedCa>>()
  let closed = false

  function prepare(ca: SigningCa): Promise<PreparedCa> {
    let entry = prepared.get(ca.id)
    if (!entry) {
      entry = (async () => {
        const parsedKey = parsePkcs8(ca.privateKey)
        const certificate = new x509.X509Certificate(toArrayBuffer(ca.certificate))
        return {
          certificate,
          key: await importPrivateKey(crypto, parsedKey),
          algorithm: certificateSigningAlgorithm(parsedKey),
          authorityKeyId: await authorityKeyId(certificate, crypto),
        }
      })()
      entry.catch(() => prepared.delete(ca.id))
      if (prepared.size >= CA_CACHE_SIZE) {
        const oldest = prepared.keys().next().value
        if (oldest !== undefined) prepared.delete(oldest)
      }
      prepared.set(ca.id, entry)
    }
    return entry
  }

  async function issueOne(ca: PreparedCa, request: LeafRequest): Promise<IssueOutcome> {
    try {
      let spki: Uint8Array
      let privateKey: Uint8Array | undefined
      if ('generate' in request.subjectKey) {
        const pair = await generateKeyPairBytes(crypto, request.subjectKey.generate)
        spki = pair.spki
        privateKey = pair.pkcs8
      } else {
        spki = request.subjectKey.spki
      }
      const family =
        'generate' in request.subjectKey
          ? keyFamily(request.subjectKey.generate)
          : spkiKeyFamily(spki)
      const certificate = await x509.X509CertificateGenerator.create(
        {
          serialNumber: serialHex(request.serialNumber),
          subject: '',
          issuer: ca.certificate.subjectName,
          notBefore: request.notBefore,
          notAfter: request.notAfter,
          publicKey: toArrayBuffer(spki),
          signingKey: ca.key,
          signingAlgorithm: ca.algorithm,
          extensions: leafExtensions({
            family,
            uris: request.uris,
            authorityKeyId: ca.authorityKeyId,
          }),
        },
        crypto
      )
      const leaf = { certificate: new Uint8Array(certificate.rawData) }
      return { ok: true, leaf: privateKey ? { ...leaf, privateKey } : leaf }
    } catch (error) {
      return { ok: false, error: toMeshcaError(error, 'CRYPTO', 'could not issue certificate') }
    }
  }

  return {
    async generateKeyPair(keyType) {
      if (closed) throw new MeshcaError('INTERNAL', 'signer is closed')
      return generateKeyPairBytes(crypto, keyType)
    },
    async issue(ca, requests) {
      if (closed) throw new MeshcaError('INTERNAL', 'signer is closed')
      let preparedCa: PreparedCa
      try {
        preparedCa = await prepare(ca)
      } catch (error) {
        const failure = toMeshcaError(error, 'CA_UNAVAILABLE', 'could not use CA material')
        return requests.map(() => ({ ok: false, error: failure }))
      }
      return Promise.all(requests.map((request) => issueOne(preparedCa, request)))
    },
    async close() {
      closed = true
      prepared.clear()
    },
  }
}
