/**
 * The URI SANs of a peer's certificate, parsed once per certificate: connections from the same peer
 * cost a map lookup keyed by the certificate's SHA-256 fingerprint, which the TLS stack computes.
 */
// @peculiar/x509 needs the Reflect metadata API when it loads: core-mtls installs it first.
import '@meshca/core-mtls'
import { LruMap } from '@meshca/core-mtls/adapter-kit'
import { SubjectAlternativeNameExtension, X509Certificate } from '@peculiar/x509'

export interface PeerIdentity {
  /** The URI SANs in certificate order. */
  readonly uris: readonly string[]
  /** The same, as `policyAllows` takes them. */
  readonly uriSet: ReadonlySet<string>
}

/** What node:tls (`getPeerCertificate`, `getPeerX509Certificate`) gives of a certificate. */
export interface CertificateView {
  readonly fingerprint256: string
  readonly raw: Uint8Array
}

/**
 * The URI SANs of a DER certificate, read from the certificate itself rather than from Node's
 * `subjectaltname` text, whose quoting of values with `, ` differs between runtimes. Throws when
 * the bytes are no certificate.
 */
export function uriSansOf(der: Uint8Array): string[] {
  const certificate = new X509Certificate(der as Uint8Array<ArrayBuffer>)
  const san = certificate.getExtension(SubjectAlternativeNameExtension)
  if (san === null) return []
  return san.names.items.filter((name) => name.type === 'url').map((name) => name.value)
}

const EMPTY: PeerIdentity = { uris: [], uriSet: new Set() }

export class PeerUriCache {
  readonly #entries: LruMap<string, PeerIdentity>

  /** `capacity`: certificates kept; a mesh's peers rotate every day or so, so 4096 is plenty. */
  constructor(capacity = 4096) {
    this.#entries = new LruMap(capacity)
  }

  /** The peer identity of `certificate`; a certificate that fails to parse has no URI SANs. */
  lookup(certificate: CertificateView): PeerIdentity {
    const key = certificate.fingerprint256
    const cached = this.#entries.get(key)
    if (cached !== undefined) return cached
    let identity = EMPTY
    try {
      const uris = uriSansOf(certificate.raw)
      identity = { uris, uriSet: new Set(uris) }
    } catch {
      // The TLS stack accepted it, so this is unlikely; a certificate we cannot read names no one.
    }
    this.#entries.set(key, identity)
    return identity
  }

  get size(): number {
    return this.#entries.size
  }
}
