import { certificateValidity } from './certificate-validity.ts'
import '../polyfill.ts'
import { id_ecPublicKey } from '@peculiar/asn1-ecc'
import { id_rsaEncryption } from '@peculiar/asn1-rsa'
import { AsnConvert } from '@peculiar/asn1-schema'
import { SubjectPublicKeyInfo } from '@peculiar/asn1-x509'
import {
  BasicConstraintsExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  X509Certificate,
} from '@peculiar/x509'
import { formatViolations, MeshcaError, type Violation } from '../errors.ts'
import { bytesEqual, toArrayBuffer } from '../util/bytes.ts'
import { indexPath } from '../validation.ts'
import { privateKeyMatchesSpki } from './key-match.ts'
import { MIN_RSA_BITS, rsaModulusBits, weakRsaKeyMessage } from './key-strength.ts'
import { decodePem, type PemBlock } from './pem.ts'
import { type ParsedPrivateKey, parsePrivateKeyPem } from './private-key.ts'

/*
 * Checks of a provided CA (docs/kuma-compatibility.md §4.1 and decision 9 of docs/decisions.md).
 * Field paths are relative to the backend's `conf`: `cert` for the key pair as a whole, `cert[i]`
 * for the i-th certificate of the file.
 */

export const CA_FLAG_NOT_SET =
  "basic constraint 'CA' must be set to 'true' (see X509-SVID: 4.1. Basic Constraints)"
export const KEY_CERT_SIGN_NOT_SET =
  "key usage extension 'keyCertSign' must be set (see X509-SVID: 4.3. Key Usage)"
export const KEY_AGREEMENT_SET =
  "key usage extension 'keyAgreement' must NOT be set (see X509-SVID: Appendix A. X.509 Field Reference)"

const KEY_PAIR_PREFIX = 'not a valid TLS key pair: '

/**
 * Certificates a CA file may hold: a chain of intermediates up to a root is a handful. Each one is
 * parsed and checked when the CA loads, for every identity it issues.
 */
export const MAX_CA_CERTIFICATES = 16

function tooManyCertificates(count: number): CaReadFailure {
  return {
    ok: false,
    violation: {
      field: 'cert',
      message: `a CA file holds at most ${MAX_CA_CERTIFICATES} certificates, not ${count}`,
    },
  }
}
const KEY_PARSE_FAILED = 'tls: failed to parse private key'
const ID_ED25519 = '1.3.101.112'

export interface CaCheckResult {
  readonly violations: readonly Violation[]
  /** Requirement 4 of the provided CA (decision 5 of docs/decisions.md): reported, not rejected. */
  readonly warnings: readonly Violation[]
}

/** One certificate of a CA file, decoded once, with what the checks look at. */
export interface CaCertificate {
  readonly der: Uint8Array
  readonly x509: X509Certificate
  readonly subjectDer: Uint8Array
  readonly issuerDer: Uint8Array
  readonly spki: Uint8Array
  readonly isCa: boolean
  /** BasicConstraints pathLenConstraint, when set. */
  readonly pathLength: number | undefined
  /** Go's `x509.KeyUsage` bits (0 when the extension is absent). */
  readonly keyUsage: number
  readonly notBefore: Date
  readonly notAfter: Date
}

/** A CA file and its key, read as Go's `tls.X509KeyPair` reads them, every certificate parsed. */
export interface CaKeyPair {
  /** In file order: the certificate that signs (the one the key belongs to) first. */
  readonly certificates: readonly CaCertificate[]
  readonly key: ParsedPrivateKey
}

/** The first problem found while reading CA material; Kuma stops there too. */
export interface CaReadFailure {
  readonly ok: false
  readonly violation: Violation
}

export type CaKeyPairReading = { readonly ok: true; readonly pair: CaKeyPair } | CaReadFailure

export type CaCertificatesReading =
  | { readonly ok: true; readonly certificates: CaCertificate[] }
  | CaReadFailure

function certAt(index: number): string {
  return indexPath('cert', index)
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Length of the outer DER SEQUENCE, to reject trailing bytes as Go does. */
function derSequenceLength(der: Uint8Array): number | undefined {
  if (der.length < 2 || der[0] !== 0x30) return undefined
  const first = der[1] ?? 0
  if (first < 0x80) return 2 + first
  const octets = first & 0x7f
  if (octets === 0 || octets > 4 || der.length < 2 + octets) return undefined
  let length = 0
  for (let i = 0; i < octets; i++) length = length * 256 + (der[2 + i] ?? 0)
  return 2 + octets + length
}

/**
 * Decodes a certificate, failing with a Go-style reason. @peculiar/x509 decodes extensions and
 * dates lazily and accepts trailing bytes; everything the checks need is read here so that a
 * malformed part is a parse failure rather than an exception in a later check.
 */
export function parseCaCertificate(der: Uint8Array): CaCertificate {
  const length = derSequenceLength(der)
  if (length !== undefined && length < der.length) throw new Error('x509: trailing data')
  try {
    const x509 = new X509Certificate(toArrayBuffer(der))
    const basicConstraints = x509.getExtension(BasicConstraintsExtension)
    const keyUsage = x509.getExtension(KeyUsagesExtension)
    const { notBefore, notAfter } = certificateValidity(der)
    return {
      der,
      x509,
      subjectDer: new Uint8Array(x509.subjectName.toArrayBuffer()),
      issuerDer: new Uint8Array(x509.issuerName.toArrayBuffer()),
      spki: new Uint8Array(x509.publicKey.rawData),
      isCa: basicConstraints?.ca === true,
      pathLength: basicConstraints?.pathLength,
      keyUsage: keyUsage?.usages ?? 0,
      notBefore,
      notAfter,
    }
  } catch (error) {
    throw new Error('x509: malformed certificate', { cause: error })
  }
}

type Parsed =
  | { readonly ok: true; readonly cert: CaCertificate }
  | { readonly ok: false; readonly error: string }

function tryParse(der: Uint8Array): Parsed {
  try {
    return { ok: true, cert: parseCaCertificate(der) }
  } catch (error) {
    return { ok: false, error: messageOf(error) }
  }
}

/** Go's messages when the certificate input has no CERTIFICATE block. */
function certificateInputError(blocks: readonly PemBlock[]): string {
  if (blocks.length === 0) return 'tls: failed to find any PEM data in certificate input'
  const [only] = blocks
  if (blocks.length === 1 && only?.label.endsWith('PRIVATE KEY')) {
    return 'tls: failed to find certificate PEM data in certificate input, but did find a private key; PEM inputs may have been switched'
  }
  const skipped = blocks.map((b) => b.label).join(' ')
  return `tls: failed to find "CERTIFICATE" PEM block in certificate input after skipping PEM blocks of the following types: [${skipped}]`
}

function publicKeyFamily(spki: Uint8Array): ParsedPrivateKey['algorithm']['family'] | undefined {
  const oid = AsnConvert.parse(spki, SubjectPublicKeyInfo).algorithm.algorithm
  if (oid === id_rsaEncryption) return 'RSA'
  if (oid === id_ecPublicKey) return 'EC'
  if (oid === ID_ED25519) return 'Ed25519'
  return undefined
}

async function keyMismatch(
  crypto: Crypto,
  key: ParsedPrivateKey,
  cert: CaCertificate
): Promise<string | undefined> {
  const family = publicKeyFamily(cert.spki)
  if (family === undefined) return 'tls: unknown public key algorithm'
  if (family !== key.algorithm.family) return 'tls: private key type does not match public key type'
  let matches: boolean
  try {
    matches = await privateKeyMatchesSpki(crypto, key, cert.spki)
  } catch {
    return KEY_PARSE_FAILED
  }
  return matches ? undefined : 'tls: private key does not match public key'
}

function keyPairFailure(reason: string): CaReadFailure {
  return { ok: false, violation: { field: 'cert', message: `${KEY_PAIR_PREFIX}${reason}` } }
}

/**
 * Step 1 of Kuma's `validateCaCert` (Go's `tls.X509KeyPair`, in Go's order, at `cert`), then the
 * parse of every further certificate (at `cert[i]`). Stops at the first failure, as Kuma does.
 * Both validation and loading start here.
 */
export async function readCaKeyPair(
  crypto: Crypto,
  certPem: string,
  keyPem: string
): Promise<CaKeyPairReading> {
  const certBlocks = decodePem(certPem)
  const ders = certBlocks.filter((b) => b.label === 'CERTIFICATE').map((b) => b.der)
  if (ders.length > MAX_CA_CERTIFICATES) return tooManyCertificates(ders.length)
  const [firstDer, ...restDer] = ders
  if (firstDer === undefined) return keyPairFailure(certificateInputError(certBlocks))

  // Go finds the key block before parsing the first certificate but parses the key after it, so
  // a key that does not parse is reported only once the certificate is known to be fine.
  let key: ParsedPrivateKey | undefined
  try {
    key = parsePrivateKeyPem(decodePem(keyPem))
  } catch (error) {
    const reason = messageOf(error)
    if (reason !== KEY_PARSE_FAILED) return keyPairFailure(reason)
  }
  const first = tryParse(firstDer)
  if (!first.ok) return keyPairFailure(first.error)
  if (key === undefined) return keyPairFailure(KEY_PARSE_FAILED)
  const mismatch = await keyMismatch(crypto, key, first.cert)
  if (mismatch !== undefined) return keyPairFailure(mismatch)

  const certificates = [first.cert]
  for (const [offset, der] of restDer.entries()) {
    const parsed = tryParse(der)
    if (!parsed.ok) {
      const message = `not a valid x509 certificate: ${parsed.error}`
      return { ok: false, violation: { field: certAt(offset + 1), message } }
    }
    certificates.push(parsed.cert)
  }
  return { ok: true, pair: { certificates, key } }
}

/** Every certificate of a file without a key (a bundle), for the cert-side checks alone. */
export function parseCaCertificates(certPem: string): CaCertificatesReading {
  const blocks = decodePem(certPem)
  const ders = blocks.filter((b) => b.label === 'CERTIFICATE').map((b) => b.der)
  if (ders.length === 0) return keyPairFailure(certificateInputError(blocks))
  if (ders.length > MAX_CA_CERTIFICATES) return tooManyCertificates(ders.length)
  const certificates: CaCertificate[] = []
  for (const [index, der] of ders.entries()) {
    const parsed = tryParse(der)
    if (!parsed.ok) {
      const message = `not a valid x509 certificate: ${parsed.error}`
      return { ok: false, violation: { field: certAt(index), message } }
    }
    certificates.push(parsed.cert)
  }
  return { ok: true, certificates }
}

async function signedBy(
  crypto: Crypto,
  cert: CaCertificate,
  issuer: CaCertificate
): Promise<boolean> {
  try {
    return await cert.x509.verify({ publicKey: issuer.x509.publicKey, signatureOnly: true }, crypto)
  } catch {
    // An algorithm WebCrypto does not know cannot vouch for the link either.
    return false
  }
}

export async function isSelfSigned(crypto: Crypto, cert: CaCertificate): Promise<boolean> {
  return bytesEqual(cert.issuerDer, cert.subjectDer) && (await signedBy(crypto, cert, cert))
}

/**
 * Decision 9 of docs/decisions.md: certificate i must be issued by certificate i+1 (its issuer is
 * the next one's subject and the next one's key verifies its signature). The last certificate is
 * not required to be self-signed: Kuma accepts a file that stops at an intermediate.
 */
export async function checkChainLinks(
  crypto: Crypto,
  certificates: readonly CaCertificate[]
): Promise<Violation[]> {
  const violations: Violation[] = []
  for (const [index, cert] of certificates.entries()) {
    const issuer = certificates[index + 1]
    if (issuer === undefined) break
    const next = certAt(index + 1)
    const prefix = `certificate is not signed by the next certificate in the chain (${next})`
    if (!bytesEqual(cert.issuerDer, issuer.subjectDer)) {
      violations.push({
        field: certAt(index),
        message: `${prefix}: its issuer "${cert.x509.issuer}" is not the subject "${issuer.x509.subject}" of ${next}`,
      })
    } else if (!(await signedBy(crypto, cert, issuer))) {
      violations.push({
        field: certAt(index),
        message: `${prefix}: its signature does not verify with the public key of ${next}`,
      })
    }
  }
  return violations
}

/**
 * A CA's pathLenConstraint counts the CA certificates below it; one in the file with more CAs under
 * it than it allows makes every verifier refuse the data plane certificates it would sign.
 */
export function checkPathLengths(certificates: readonly CaCertificate[]): Violation[] {
  const violations: Violation[] = []
  for (const [index, cert] of certificates.entries()) {
    if (cert.pathLength === undefined || cert.pathLength >= index) continue
    violations.push({
      field: certAt(index),
      message: `basic constraint 'pathLen' is ${cert.pathLength}, but ${index} CA certificate${index === 1 ? '' : 's'} of the chain ${index === 1 ? 'is' : 'are'} below it`,
    })
  }
  return violations
}

/**
 * RSA keys under 2048 bits anywhere in the chain: peers at OpenSSL's default security level refuse
 * them.
 */
export async function checkKeyStrengths(
  crypto: Crypto,
  certificates: readonly CaCertificate[]
): Promise<Violation[]> {
  const violations: Violation[] = []
  for (const [index, cert] of certificates.entries()) {
    if (publicKeyFamily(cert.spki) !== 'RSA') continue
    const bits = await rsaModulusBits(crypto, cert.spki)
    if (bits !== undefined && bits < MIN_RSA_BITS) {
      violations.push({ field: certAt(index), message: weakRsaKeyMessage(bits) })
    }
  }
  return violations
}

/** RFC 3339 as Go prints it (no fractional seconds). */
function goTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/**
 * Decision 9 of docs/decisions.md: a CA outside its validity period signs certificates nobody
 * accepts.
 */
export function checkValidityPeriods(
  certificates: readonly CaCertificate[],
  now: Date
): Violation[] {
  const violations: Violation[] = []
  for (const [index, cert] of certificates.entries()) {
    if (now.getTime() < cert.notBefore.getTime()) {
      violations.push({
        field: certAt(index),
        message: `certificate is not valid yet: current time ${goTime(now)} is before ${goTime(cert.notBefore)}`,
      })
    } else if (now.getTime() > cert.notAfter.getTime()) {
      violations.push({
        field: certAt(index),
        message: `certificate has expired: current time ${goTime(now)} is after ${goTime(cert.notAfter)}`,
      })
    }
  }
  return violations
}

const LEAF_USAGES = [
  ['digitalSignature', KeyUsageFlags.digitalSignature],
  ['keyEncipherment', KeyUsageFlags.keyEncipherment],
] as const

function leafUsageWarning(names: readonly string[]): string {
  const quoted = names.map((n) => `'${n}'`)
  const subject =
    quoted.length === 1
      ? `key usage extension ${quoted[0]}`
      : `key usage extensions ${quoted.join(' and ')}`
  return `${subject} should NOT be set (see X509-SVID: 4.3. Key Usage)`
}

/**
 * Kuma's per-certificate rules (docs/kuma-compatibility.md §4.1 step 2, in its order) and
 * requirement 4 as a warning.
 */
export function checkCaRequirements(certificates: readonly CaCertificate[]): CaCheckResult {
  const violations: Violation[] = []
  const warnings: Violation[] = []
  for (const [index, cert] of certificates.entries()) {
    const field = certAt(index)
    if (!cert.isCa) violations.push({ field, message: CA_FLAG_NOT_SET })
    if ((cert.keyUsage & KeyUsageFlags.keyCertSign) === 0) {
      violations.push({ field, message: KEY_CERT_SIGN_NOT_SET })
    }
    if ((cert.keyUsage & KeyUsageFlags.keyAgreement) !== 0) {
      violations.push({ field, message: KEY_AGREEMENT_SET })
    }
    const leafUsages = LEAF_USAGES.filter(([, flag]) => (cert.keyUsage & flag) !== 0)
    if (leafUsages.length > 0) {
      warnings.push({ field, message: leafUsageWarning(leafUsages.map(([name]) => name)) })
    }
  }
  return { violations, warnings }
}

/**
 * Every check that needs only the certificates, in the order of decision 9 of docs/decisions.md:
 * the chain, the validity periods, then Kuma's rules per certificate; then what a verifier would
 * refuse (path lengths, weak keys).
 */
export async function checkCaCertificates(
  crypto: Crypto,
  certificates: readonly CaCertificate[],
  now: Date
): Promise<CaCheckResult> {
  const chain = await checkChainLinks(crypto, certificates)
  const validity = checkValidityPeriods(certificates, now)
  const requirements = checkCaRequirements(certificates)
  const refused = [
    // Path lengths mean something only along a chain that chains.
    ...(chain.length === 0 ? checkPathLengths(certificates) : []),
    ...(await checkKeyStrengths(crypto, certificates)),
  ]
  return {
    violations: [...chain, ...validity, ...requirements.violations, ...refused],
    warnings: requirements.warnings,
  }
}

/** The complete admission check of a provided CA: key pair, parsing, chain, validity, rules. */
export async function validateCaKeyPair(
  crypto: Crypto,
  certPem: string,
  keyPem: string,
  now: Date
): Promise<CaCheckResult> {
  const reading = await readCaKeyPair(crypto, certPem, keyPem)
  if (!reading.ok) return { violations: [reading.violation], warnings: [] }
  return checkCaCertificates(crypto, reading.pair.certificates, now)
}

/**
 * The pair that signs, re-checked at every load (decision 10 of docs/decisions.md): a key that does
 * not match or a chain that does not chain must never sign, whatever slipped past admission.
 * Validity and Kuma's rules are left to admission and expiry reporting. Fails with CA_UNAVAILABLE.
 */
export async function loadCaKeyPair(
  crypto: Crypto,
  certPem: string,
  keyPem: string
): Promise<CaKeyPair> {
  const reading = await readCaKeyPair(crypto, certPem, keyPem)
  if (!reading.ok) {
    throw new MeshcaError('CA_UNAVAILABLE', formatViolations([reading.violation]))
  }
  const broken = await checkChainLinks(crypto, reading.pair.certificates)
  if (broken.length > 0) throw new MeshcaError('CA_UNAVAILABLE', formatViolations(broken))
  return reading.pair
}
