import '../polyfill.ts'
import * as x509 from '@peculiar/x509'
import { MIN_RSA_BITS, rsaModulusBits, weakRsaKeyMessage } from '../ca/key-strength.ts'
import { decodePem } from '../ca/pem.ts'
import { MeshcaError } from '../errors.ts'
import { spkiKeyFamily } from '../identity/leaf-profile.ts'
import { toArrayBuffer } from '../util/bytes.ts'

export { MIN_RSA_BITS } from '../ca/key-strength.ts'

/**
 * A PKCS#10 request with an 8192-bit RSA key is under 6 KB of PEM; anything far larger is abuse.
 */
export const MAX_CSR_PEM_LENGTH = 64 * 1024

function invalid(message: string, cause?: unknown): MeshcaError {
  return new MeshcaError('INVALID', message, {
    violations: [{ field: 'csr', message }],
    cause,
  })
}

/**
 * Checks a PKCS#10 request from a data plane (decision 17 of docs/decisions.md) and returns the
 * public key it proves possession of. The SANs and subject it asks for are ignored: the identity
 * comes from the data plane's token and resource, never from the request.
 */
export async function verifiedCsrPublicKey(crypto: Crypto, pem: string): Promise<Uint8Array> {
  if (pem.length > MAX_CSR_PEM_LENGTH) {
    throw invalid(`must not be longer than ${MAX_CSR_PEM_LENGTH} characters`)
  }
  const block = decodePem(pem).find(
    (b) => b.label === 'CERTIFICATE REQUEST' || b.label === 'NEW CERTIFICATE REQUEST'
  )
  if (!block) throw invalid('must be a PEM "CERTIFICATE REQUEST"')
  let csr: x509.Pkcs10CertificateRequest
  try {
    csr = new x509.Pkcs10CertificateRequest(toArrayBuffer(block.der))
  } catch (error) {
    throw invalid('is not a valid PKCS#10 certificate request', error)
  }
  const spki = new Uint8Array(csr.publicKey.rawData)
  await checkKeyStrength(crypto, spki)
  let signatureValid = false
  try {
    signatureValid = await csr.verify(crypto)
  } catch (error) {
    throw invalid('signature could not be verified', error)
  }
  if (!signatureValid) throw invalid('signature does not match its public key')
  return spki
}

async function checkKeyStrength(crypto: Crypto, spki: Uint8Array): Promise<void> {
  let family: ReturnType<typeof spkiKeyFamily>
  try {
    family = spkiKeyFamily(spki)
  } catch {
    throw invalid('key type is not supported (use RSA, ECDSA P-256/P-384 or Ed25519)')
  }
  if (family === 'RSA') {
    const bits = await rsaModulusBits(crypto, spki)
    // RSA-PSS-only keys and malformed moduli end here.
    if (bits === undefined) {
      throw invalid('RSA key is not supported (use an rsaEncryption key of at least 2048 bits)')
    }
    if (bits < MIN_RSA_BITS) throw invalid(weakRsaKeyMessage(bits))
  } else if (family === 'EC') {
    const curve = new x509.PublicKey(toArrayBuffer(spki)).algorithm as EcKeyAlgorithm
    if (curve.namedCurve !== 'P-256' && curve.namedCurve !== 'P-384') {
      throw invalid(`EC curve ${curve.namedCurve} is not supported (use P-256 or P-384)`)
    }
  }
}
