/**
 * Checks an identity answer of `POST …/identity` with node's X509Certificate, independently of the
 * code that issued it: the chain leads to a root of the trust bundle, the leaf is valid now and names
 * the expected SPIFFE ID, and the private key is the leaf's (RSA of the expected size).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto'

export interface IdentityAnswer {
  readonly mode?: string
  readonly certificateChain?: string
  readonly privateKey?: string
  readonly trustBundle?: string
}

export interface IdentityExpectation {
  readonly spiffeId: string
  readonly rsaBits: number
  readonly now: Date
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

function certificates(pem: string): X509Certificate[] {
  return (pem.match(PEM_CERTIFICATE) ?? []).map((block) => new X509Certificate(block))
}

/** The bundle of a mesh is the same text for every data plane: parse it once. */
const bundles = new Map<string, X509Certificate[]>()

function trustBundle(pem: string): X509Certificate[] {
  let roots = bundles.get(pem)
  if (roots === undefined) {
    roots = certificates(pem)
    bundles.set(pem, roots)
  }
  return roots
}

function signedBy(certificate: X509Certificate, issuer: X509Certificate): boolean {
  return certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey)
}

function validAt(certificate: X509Certificate, now: Date): boolean {
  return new Date(certificate.validFrom) <= now && now <= new Date(certificate.validTo)
}

/** What is wrong with the identity, or `undefined` when nothing is. */
export function identityProblem(
  answer: IdentityAnswer,
  expected: IdentityExpectation
): string | undefined {
  if (answer.mode === 'DISABLED') return 'mTLS is DISABLED'
  if (!answer.certificateChain || !answer.trustBundle || !answer.privateKey) {
    return 'certificateChain, trustBundle or privateKey is missing'
  }
  const [leaf, ...intermediates] = certificates(answer.certificateChain)
  if (leaf === undefined) return 'certificateChain holds no certificate'
  const roots = trustBundle(answer.trustBundle)
  if (roots.length === 0) return 'trustBundle holds no certificate'

  let current = leaf
  for (let depth = 0; ; depth++) {
    if (!validAt(current, expected.now)) return `certificate ${depth} is not valid now`
    if (roots.some((root) => signedBy(current, root))) break
    const issuer = intermediates.find((candidate) => signedBy(current, candidate))
    if (issuer === undefined || depth > intermediates.length) {
      return `certificate ${depth} is not signed by the trust bundle or the chain`
    }
    current = issuer
  }

  const uris = (leaf.subjectAltName ?? '').split(', ')
  if (!uris.includes(`URI:${expected.spiffeId}`)) {
    return `SAN ${leaf.subjectAltName ?? '(none)'} lacks ${expected.spiffeId}`
  }
  const details = leaf.publicKey.asymmetricKeyDetails
  if (leaf.publicKey.asymmetricKeyType !== 'rsa' || details?.modulusLength !== expected.rsaBits) {
    return `key is ${leaf.publicKey.asymmetricKeyType} ${details?.modulusLength ?? ''}, expected RSA ${expected.rsaBits}`
  }
  if (!leaf.checkPrivateKey(createPrivateKey(answer.privateKey))) {
    return 'privateKey does not match the certificate'
  }
  return undefined
}
