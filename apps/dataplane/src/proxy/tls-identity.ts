/**
 * The identity the proxy presents and trusts, swapped whole when the control plane rotates it. Every
 * handshake reads `current()` when it starts, so a new identity applies to the next handshake at
 * once, and connections already open keep the one they started with.
 */
import * as tls from 'node:tls'
import { certificatesFromPem } from '@meshca/core-mtls'
import { uriSansOf } from './peer-uris.ts'

export type ProxyMtlsMode = 'STRICT' | 'PERMISSIVE'

/** The data plane API's identity, as the agent received it (PEM text). */
export interface IdentityMaterial {
  /** The leaf, then its intermediates. */
  readonly certificateChain: string
  readonly privateKey: string
  /** The roots of every backend of the mesh. */
  readonly trustBundle: string
  readonly mode: ProxyMtlsMode
  readonly backend: string
  readonly expiration: Date
  /** The mesh; by default read from the leaf's `spiffe://<mesh>/…` URI SAN. */
  readonly mesh?: string
}

/** Options a terminating `tls.Server` is made from (node:tls builds a server's context itself). */
export interface ServerTlsOptions {
  readonly key: string
  readonly cert: string
  readonly ca: string
}

export interface ActiveIdentity {
  readonly mode: ProxyMtlsMode
  readonly mesh: string
  /** `spiffe://<mesh>/`: what a client's URI SAN must start with (Kuma's downstream matcher). */
  readonly meshPrefix: string
  readonly backend: string
  readonly expiration: Date
  readonly serverOptions: ServerTlsOptions
  /** Certificate, key and trust bundle for upstream mTLS, built once per identity. */
  readonly clientContext: tls.SecureContext
}

/** The mesh named by the first `spiffe://<mesh>/<service>` URI SAN of the chain's leaf. */
function meshOfLeaf(certificateChain: string): string {
  const [der] = certificatesFromPem(certificateChain)
  if (der === undefined) throw new TypeError('the certificate chain holds no certificate')
  for (const uri of uriSansOf(der)) {
    const spiffe = /^spiffe:\/\/([^/]+)\//.exec(uri)
    if (spiffe !== null) return spiffe[1] ?? ''
  }
  throw new TypeError('the leaf certificate has no spiffe://<mesh>/ URI SAN')
}

function activate(material: IdentityMaterial): ActiveIdentity {
  const mesh = material.mesh ?? meshOfLeaf(material.certificateChain)
  const serverOptions = {
    key: material.privateKey,
    cert: material.certificateChain,
    ca: material.trustBundle,
  }
  return {
    mode: material.mode,
    mesh,
    meshPrefix: `spiffe://${mesh}/`,
    backend: material.backend,
    expiration: material.expiration,
    serverOptions,
    // Throws on a key that does not match the certificate or unreadable PEM: `update` then keeps
    // the identity it had.
    clientContext: tls.createSecureContext(serverOptions),
  }
}

export class TlsIdentity {
  #current: ActiveIdentity | undefined

  constructor(material?: IdentityMaterial) {
    this.#current = material === undefined ? undefined : activate(material)
  }

  /**
   * Applies `material` to every new handshake; `undefined` turns mTLS off (plain TCP). Throws, and
   * keeps the current identity, when the material cannot be used.
   */
  update(material: IdentityMaterial | undefined): void {
    this.#current = material === undefined ? undefined : activate(material)
  }

  current(): ActiveIdentity | undefined {
    return this.#current
  }
}
