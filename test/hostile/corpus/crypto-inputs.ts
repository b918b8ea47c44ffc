/**
 * Hostile certificates, keys and CSRs where the API takes them: the `csr` of the identity POST, the
 * `x-meshca-csr` header of the stream, and a provided CA's `cert` and `key` (inline, inlineString or
 * Secret). A CSR's SANs, subject and CA request must be ignored: when one is answered 200, the
 * certificate must carry the token's identity only, for the CSR's key.
 */
import { createPublicKey, X509Certificate } from 'node:crypto'
import type { RawAnswer } from '../../support/raw-http.ts'
import { DATAPLANE, MESH, PLAIN_MESH, SERVICE } from '../hostile-world.ts'
import { type CryptoMaterial, pemMutations } from './crypto-material.ts'
import {
  type CorpusContext,
  type Expectation,
  jsonBody,
  type Probe,
  withCredentials,
} from './probe.ts'

const IDENTITY = `/meshes/${MESH}/dataplanes/${DATAPLANE}/identity`
const EXPECTED_URIS = [`spiffe://${MESH}/${SERVICE}`, `kuma://kuma.io/service/${SERVICE}`]

/** The identity JSON of a POST answer, or of the first event of a stream. */
function identityOf(answer: RawAnswer): { certificateChain?: string } {
  const text = answer.body.toString('utf8')
  const data = /^data: (.*)$/m.exec(text)?.[1]
  return JSON.parse(data ?? text) as { certificateChain?: string }
}

/** A problem with the certificate issued for a CSR, or `undefined`. */
export function issuedCertificateProblem(
  answer: RawAnswer,
  material: CryptoMaterial,
  publicKey?: string
): string | undefined {
  if (answer.status !== 200) return undefined
  const identity = identityOf(answer)
  if (identity.certificateChain === undefined) return 'answer 200 without a certificateChain'
  const leaf = new X509Certificate(identity.certificateChain)
  const sans = (leaf.subjectAltName ?? '').split(', ').filter((s) => s !== '')
  const expected = EXPECTED_URIS.map((uri) => `URI:${uri}`)
  if (JSON.stringify(sans) !== JSON.stringify(expected)) {
    return `certificate SANs ${JSON.stringify(sans)}, expected ${JSON.stringify(expected)}`
  }
  const subject = leaf.subject ?? ''
  if (material.csr.foreignSanValues.some((value) => subject.includes(value))) {
    return `certificate subject ${JSON.stringify(subject)} copies the CSR`
  }
  if (leaf.ca) return 'the CSR asked for a CA certificate and got one'
  if (publicKey !== undefined) {
    const want = createPublicKey(publicKey).export({ type: 'spki', format: 'der' })
    const got = leaf.publicKey.export({ type: 'spki', format: 'der' })
    if (!want.equals(got)) return "the certificate is not for the CSR's key"
  }
  return undefined
}

interface CsrCase {
  readonly label: string
  readonly pem: string
  /** `true`: 200 with the token's identity; `false`: 400; `'refused'`: any 4xx. */
  readonly accepted: boolean | 'refused' | undefined
  /** In the header, where the base64 of DER bytes is a documented form of the CSR. */
  readonly acceptedInHeader?: boolean | 'refused' | undefined
  readonly publicKey?: string
}

function csrCases(material: CryptoMaterial): CsrCase[] {
  const { csr, ca } = material
  return [
    { label: 'P-256', pem: csr.p256, accepted: true },
    { label: 'RSA-2048', pem: csr.rsa2048, accepted: true },
    { label: 'Ed25519', pem: csr.ed25519, accepted: true },
    {
      label: 'foreign SPIFFE IDs, extra SANs, CA:TRUE',
      pem: csr.foreignSans,
      accepted: true,
      publicKey: csr.foreignSansPublicKey,
    },
    { label: 'RSA-1024', pem: csr.rsa1024, accepted: false },
    { label: 'P-521', pem: csr.p521, accepted: false },
    { label: 'DSA', pem: csr.dsa, accepted: false },
    { label: 'secp256k1', pem: csr.secp256k1, accepted: false },
    { label: 'Ed448', pem: csr.ed448, accepted: false },
    { label: 'bad signature', pem: csr.badSignature, accepted: false },
    { label: 'subject changed after signing', pem: csr.tamperedSubject, accepted: false },
    { label: 'a certificate', pem: ca.good.certPem, accepted: false },
    { label: 'a private key', pem: ca.other.keyPem, accepted: false },
    ...pemMutations(csr.p256).map((m) => ({
      label: `P-256 ${m.label}`,
      pem: m.text,
      accepted: m.invalid ? ('refused' as const) : undefined,
      acceptedInHeader: m.derBytes ? true : m.invalid ? ('refused' as const) : undefined,
    })),
  ]
}

function csrExpectation(
  accepted: CsrCase['accepted'],
  material: CryptoMaterial,
  publicKey?: string
): Expectation {
  if (accepted === false) return { statuses: [400] }
  if (accepted === 'refused') return { refused: true }
  return {
    ...(accepted ? { statuses: [200] } : {}),
    verify: (answer) => issuedCertificateProblem(answer, material, publicKey),
  }
}

function csrProbes(context: CorpusContext): Probe[] {
  const { tokens, material } = context
  const probes: Probe[] = []
  for (const item of csrCases(material)) {
    probes.push({
      family: 'certificates and keys',
      label: `POST ${IDENTITY} csr: ${item.label}`,
      who: 'dpOwn',
      request: {
        method: 'POST',
        target: IDENTITY,
        headers: withCredentials(tokens, 'dpOwn', { 'content-type': 'application/json' }),
        body: jsonBody({ csr: item.pem }),
      },
      expect: csrExpectation(item.accepted, material, item.publicKey),
    })
    const header = Buffer.from(item.pem, 'latin1').toString('base64')
    // Headers stay under Node's 16 KiB limit: larger ones never reach the application.
    if (header.length > 12_000) continue
    probes.push({
      family: 'certificates and keys',
      label: `GET ${IDENTITY}/stream x-meshca-csr: ${item.label}`,
      who: 'dpOwn',
      request: {
        method: 'GET',
        target: `${IDENTITY}/stream`,
        headers: withCredentials(tokens, 'dpOwn', { 'x-meshca-csr': header }),
      },
      expect: csrExpectation(
        'acceptedInHeader' in item ? item.acceptedInHeader : item.accepted,
        material,
        item.publicKey
      ),
    })
  }
  return probes
}

export type DataSource = Record<string, string>

export function providedMesh(name: string, cert: DataSource, key: DataSource) {
  return {
    type: 'Mesh',
    name,
    mtls: {
      enabledBackend: 'ca-p',
      backends: [{ name: 'ca-p', type: 'provided', conf: { cert, key } }],
    },
  }
}

/** Secrets of PLAIN_MESH that provided backends refer to: bad CA material stored as Secrets. */
export function caSecrets(material: CryptoMaterial): { name: string; pem: string }[] {
  const { ca } = material
  return [
    { name: 'truncated-cert', pem: ca.good.certPem.slice(0, 300) },
    { name: 'weak-cert', pem: ca.rsa1024.certPem },
    { name: 'weak-key', pem: ca.rsa1024.keyPem },
    { name: 'p521-cert', pem: ca.p521.certPem },
    { name: 'p521-key', pem: ca.p521.keyPem },
    { name: 'good-key', pem: ca.good.keyPem },
  ]
}

const SECRET_PAIRS: readonly [string, string][] = [
  ['truncated-cert', 'good-key'],
  ['weak-cert', 'weak-key'],
  ['p521-cert', 'p521-key'],
  ['weak-cert', 'good-key'],
]

function caPairs(material: CryptoMaterial) {
  const { ca } = material
  const good = ca.good
  return [
    ...pemMutations(good.certPem).map((m) => ({
      label: `cert ${m.label}`,
      cert: m.text,
      key: good.keyPem,
      invalid: m.invalid,
    })),
    ...pemMutations(good.keyPem).map((m) => ({
      label: `key ${m.label}`,
      cert: good.certPem,
      key: m.text,
      invalid: m.invalid,
    })),
    { label: 'RSA-1024 CA', cert: ca.rsa1024.certPem, key: ca.rsa1024.keyPem, invalid: true },
    { label: 'P-521 CA', cert: ca.p521.certPem, key: ca.p521.keyPem, invalid: true },
    { label: 'DSA CA', cert: ca.dsa.certPem, key: ca.dsa.keyPem, invalid: true },
    { label: 'CA:FALSE certificate', cert: ca.notCa.certPem, key: ca.notCa.keyPem, invalid: true },
    { label: "another CA's key", cert: good.certPem, key: ca.other.keyPem, invalid: true },
    { label: 'cert and key swapped', cert: good.keyPem, key: good.certPem, invalid: true },
    { label: 'encrypted key', cert: good.certPem, key: ca.encryptedKey, invalid: true },
    { label: 'a CSR as the cert', cert: material.csr.rsa2048, key: good.keyPem, invalid: true },
  ]
}

function providedCaProbes(context: CorpusContext): Probe[] {
  const probes: Probe[] = []
  const put = (label: string, name: string, body: unknown, invalid: boolean): Probe => ({
    family: 'certificates and keys',
    label: `PUT /meshes/${name} provided CA: ${label}`,
    who: 'admin',
    request: {
      method: 'PUT',
      target: `/meshes/${name}`,
      headers: withCredentials(context.tokens, 'admin', { 'content-type': 'application/json' }),
      body: jsonBody(body),
    },
    expect: { refused: invalid },
  })
  for (const pair of caPairs(context.material)) {
    // inlineString holds the PEM; inline its base64, as Kuma's DataSource does.
    const inline = context.random.chance(0.3)
    const source = (pem: string) =>
      inline ? { inline: Buffer.from(pem, 'latin1').toString('base64') } : { inlineString: pem }
    const name = context.fresh('ca')
    const label = `${pair.label} (${inline ? 'inline' : 'inlineString'})`
    probes.push(
      put(label, name, providedMesh(name, source(pair.cert), source(pair.key)), pair.invalid)
    )
  }
  for (const [cert, key] of SECRET_PAIRS) {
    const body = providedMesh(PLAIN_MESH, { secret: cert }, { secret: key })
    probes.push(put(`Secrets ${cert} + ${key}`, PLAIN_MESH, body, true))
  }
  return probes
}

export function cryptoProbes(context: CorpusContext): Probe[] {
  return [...csrProbes(context), ...providedCaProbes(context)]
}
