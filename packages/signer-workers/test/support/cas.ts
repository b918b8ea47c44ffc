import { createPrivateKey } from 'node:crypto'
import { certificatesFromPem, type SigningCa, signingCaId } from '@meshca/core-mtls'
import { createTestCa } from '@meshca/core-mtls/testing'
import { type KeyKind, type OpensslCa, selfSignedCa } from '@meshca/test-support/openssl'

export interface NamedCa {
  readonly name: string
  readonly signing: SigningCa
  readonly certificatePem: string
  /** RSA PKCS#1 v1.5 and Ed25519 signatures are deterministic: same TBS, same bytes. */
  readonly deterministic: boolean
  /** `-x509_strict` also demands a SubjectKeyIdentifier of the CA itself. */
  readonly hasSubjectKeyId: boolean
}

async function fromPem(
  name: string,
  certificatePem: string,
  keyPem: string,
  deterministic: boolean,
  hasSubjectKeyId = true
): Promise<NamedCa> {
  const certificate = certificatesFromPem(certificatePem)[0]
  if (!certificate) throw new Error('no certificate')
  const privateKey = new Uint8Array(
    createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' })
  )
  const id = await signingCaId(globalThis.crypto, certificate, privateKey)
  return {
    name,
    signing: { id, certificate, privateKey },
    certificatePem,
    deterministic,
    hasSubjectKeyId,
  }
}

/** A self-signed CA made by openssl, so that the CA side of the tests owes nothing to our code. */
function opensslCa(options: {
  readonly key: KeyKind
  readonly subject: string
  readonly subjectKeyIdentifier: boolean
}): OpensslCa {
  const extensions = [
    'basicConstraints = critical,CA:TRUE',
    'keyUsage = critical,keyCertSign,cRLSign',
    `subjectKeyIdentifier = ${options.subjectKeyIdentifier ? 'hash' : 'none'}`,
    'authorityKeyIdentifier = none',
  ]
  return selfSignedCa(options.subject, extensions, { key: options.key, days: 3650, utf8: true })
}

/**
 * The CAs the fast path must handle: core's builtin roots (RSA, P-256), and openssl-made ones with
 * no SubjectKeyIdentifier (the AKID is then the SHA-1 of the CA key), long UTF-8 names and the
 * other signature algorithms (Ed25519, ECDSA with SHA-384).
 */
export async function differentialCas(): Promise<NamedCa[]> {
  const [rsa, p256] = await Promise.all([
    createTestCa({ keyType: 'RSA_2048', mesh: 'default' }),
    createTestCa({ keyType: 'ECDSA_P256', mesh: 'default' }),
  ])
  const ed25519 = opensslCa({
    key: 'ed25519',
    subject: '/O=Exämple Ünïcode Org/OU=Mesh/CN=Ed25519 root without a subject key identifier',
    subjectKeyIdentifier: false,
  })
  const rsaLongName = opensslCa({
    key: 'rsa:2048',
    // Over 256 bytes of name, so its DER length takes two bytes.
    subject: `/C=DE/ST=Berlin/L=Berlin/O=${'Långt namn '.repeat(5)}/OU=Plattform ${'å'.repeat(40)}/OU=Team ${'z'.repeat(50)}/CN=${'x'.repeat(60)}`,
    subjectKeyIdentifier: true,
  })
  const p384 = opensslCa({
    key: 'ec:P-384',
    subject: '/CN=P-384 root',
    subjectKeyIdentifier: false,
  })
  return Promise.all([
    fromPem('builtin RSA-2048', rsa.certificatePem, rsa.keyPem, true),
    fromPem('builtin ECDSA P-256', p256.certificatePem, p256.keyPem, false),
    fromPem('openssl Ed25519, no SKID', ed25519.certPem, ed25519.keyPem, true, false),
    fromPem('openssl RSA, long UTF-8 name', rsaLongName.certPem, rsaLongName.keyPem, true),
    fromPem('openssl ECDSA P-384, no SKID', p384.certPem, p384.keyPem, false, false),
  ])
}
