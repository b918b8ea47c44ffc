/**
 * Keys, requests and CA certificates made by the openssl CLI (an implementation independent of the
 * code under test): good ones, weak or unsupported ones, ones with a broken signature, and the
 * mutations of a PEM text that the corpus sends in their place.
 */
import {
  selfSignedCa as opensslCa,
  opensslKey,
  opensslOk,
  opensslRequest,
  type OpensslCa as Pem,
} from '@meshca/test-support/openssl'

export interface CryptoMaterial {
  readonly csr: {
    /** P-256, `CN=web`, no SAN. */
    readonly p256: string
    /** P-256 asking for other meshes' and services' SPIFFE IDs, DNS, IP and e-mail SANs. */
    readonly foreignSans: string
    /** The public key (SPKI PEM) of `foreignSans`. */
    readonly foreignSansPublicKey: string
    /** What `foreignSans` asks for and must never get. */
    readonly foreignSanValues: readonly string[]
    readonly rsa2048: string
    readonly ed25519: string
    readonly rsa1024: string
    readonly p521: string
    readonly dsa: string
    readonly secp256k1: string
    readonly ed448: string
    /** `p256` with the last byte of its signature changed. */
    readonly badSignature: string
    /** `p256` with its subject changed after signing. */
    readonly tamperedSubject: string
  }
  readonly ca: {
    readonly good: Pem
    readonly other: Pem
    readonly rsa1024: Pem
    readonly p521: Pem
    readonly dsa: Pem
    /** `CA:FALSE`: a leaf offered as a CA. */
    readonly notCa: Pem
    /** `good.keyPem` encrypted with a passphrase. */
    readonly encryptedKey: string
  }
}

const CA_EXTENSIONS = [
  'basicConstraints=critical,CA:TRUE',
  'keyUsage=critical,keyCertSign,cRLSign',
  'subjectKeyIdentifier=hash',
]

function derOf(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64')
}

export function pemOf(der: Buffer, label: string): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? []
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}

/** The same DER with one byte changed: still parses, no longer verifies. */
function withByteChanged(pem: string, at: (der: Buffer) => number): string {
  const der = derOf(pem)
  const index = at(der)
  der[index] = (der[index] ?? 0) ^ 0x01
  return pemOf(der, 'CERTIFICATE REQUEST')
}

function selfSignedCa(key: string, subject: string, extensions = CA_EXTENSIONS): Pem {
  return { keyPem: key, certPem: opensslRequest(key, subject, extensions, true) }
}

export function makeCryptoMaterial(): CryptoMaterial {
  const p256 = opensslKey('ec:P-256')
  const foreignKey = opensslKey('ec:P-256')
  const rsa1024 = opensslKey('rsa:1024')
  const p521 = opensslKey('ec:P-521')
  const dsa = opensslKey('dsa:2048')
  const foreignSanValues = [
    'spiffe://hm2/web',
    'spiffe://hm/admin',
    'kuma://kuma.io/service/admin',
    'evil.example',
    '10.9.9.9',
  ]
  const csrP256 = opensslRequest(p256, '/CN=web')
  const good = opensslCa('hostile-ca', CA_EXTENSIONS)
  return {
    csr: {
      p256: csrP256,
      foreignSans: opensslRequest(foreignKey, '/CN=mesh-system:admin/O=mesh-system:admin', [
        `subjectAltName=URI:${foreignSanValues[0]},URI:${foreignSanValues[1]},URI:${foreignSanValues[2]},DNS:${foreignSanValues[3]},IP:${foreignSanValues[4]},email:root@evil.example`,
        'basicConstraints=critical,CA:TRUE',
      ]),
      foreignSansPublicKey: opensslOk(['pkey', '-pubout'], {}, foreignKey),
      foreignSanValues,
      rsa2048: opensslRequest(opensslKey('rsa:2048'), '/CN=web'),
      ed25519: opensslRequest(opensslKey('ed25519'), '/CN=web'),
      rsa1024: opensslRequest(rsa1024, '/CN=web'),
      p521: opensslRequest(p521, '/CN=web'),
      dsa: opensslRequest(dsa, '/CN=web'),
      secp256k1: opensslRequest(opensslKey('ec:secp256k1'), '/CN=web'),
      ed448: opensslRequest(opensslKey('ed448'), '/CN=web'),
      badSignature: withByteChanged(csrP256, (der) => der.length - 1),
      tamperedSubject: withByteChanged(csrP256, (der) => der.indexOf(Buffer.from('web')) + 2),
    },
    ca: {
      good,
      other: opensslCa('hostile-other-ca', CA_EXTENSIONS),
      rsa1024: selfSignedCa(rsa1024, '/CN=weak-ca'),
      p521: selfSignedCa(p521, '/CN=p521-ca'),
      dsa: selfSignedCa(dsa, '/CN=dsa-ca'),
      notCa: selfSignedCa(opensslKey('rsa:2048'), '/CN=leaf', [
        'basicConstraints=critical,CA:FALSE',
      ]),
      encryptedKey: opensslOk(
        ['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-passout', 'pass:hostile'],
        {},
        good.keyPem
      ),
    },
  }
}

export interface PemMutation {
  readonly label: string
  readonly text: string
  /** Not a usable PEM of the original: must be refused wherever the original was required. */
  readonly invalid: boolean
  /** The DER bytes themselves, which some fields take in base64. */
  readonly derBytes?: true
}

/** Ways to break (or merely reshape) a PEM text. */
export function pemMutations(pem: string): PemMutation[] {
  const label = /-----BEGIN ([^-]+)-----/.exec(pem)?.[1] ?? 'CERTIFICATE'
  const body = pem.replace(/-----[^-]+-----/g, '').trim()
  const tiny = `-----BEGIN ${label}-----\nAA==\n-----END ${label}-----\n`
  const wrapped = (inner: string) => `-----BEGIN ${label}-----\n${inner}\n-----END ${label}-----\n`
  return [
    { label: 'truncated in half', text: pem.slice(0, Math.floor(pem.length / 2)), invalid: true },
    { label: 'without its END line', text: pem.replace(/-----END[^\n]+\n?$/, ''), invalid: true },
    { label: 'base64 corrupted', text: wrapped(body.replace(/[A-M]/g, '!')), invalid: true },
    { label: 'DER cut short', text: pemOf(derOf(pem).subarray(0, 40), label), invalid: true },
    { label: 'wrong label', text: pem.replaceAll(label, 'X509 CRL'), invalid: true },
    { label: 'empty block', text: wrapped(''), invalid: true },
    {
      label: 'NUL in the body',
      text: wrapped(`${body.slice(0, 20)}\u0000${body.slice(20)}`),
      invalid: true,
    },
    {
      label: 'DER bytes as text',
      text: derOf(pem).toString('latin1'),
      invalid: true,
      derBytes: true,
    },
    { label: 'BEGIN inside BEGIN', text: `-----BEGIN ${label}-----\n${pem}`, invalid: true },
    // Under the 1 MiB body limit once JSON-escaped: the parse of many blocks is what is tested.
    { label: '12,000 tiny blocks', text: tiny.repeat(12_000), invalid: true },
    {
      label: 'one 700 KB block',
      text: wrapped(
        Buffer.alloc(525_000, 7)
          .toString('base64')
          .match(/.{1,64}/g)
          ?.join('\n') ?? ''
      ),
      invalid: true,
    },
    {
      label: 'repeated to 700 KB',
      text: pem.repeat(Math.ceil(700_000 / pem.length)),
      invalid: false,
    },
    {
      label: 'encrypted-PEM headers',
      text: wrapped(`Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n${body}`),
      invalid: true,
    },
    { label: 'CRLF line ends', text: pem.replaceAll('\n', '\r\n'), invalid: false },
    { label: 'trailing garbage', text: `${pem}garbage\u0001\u0002`, invalid: false },
  ]
}
