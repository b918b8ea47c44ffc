/**
 * The agent's own key: generated at start, never sent anywhere. The control plane certifies it
 * from a CSR (its SANs and subject are ignored: the identity comes from the token and the
 * Dataplane). A restart makes a new key, and the control plane a new certificate for it.
 */
// core-mtls first: it installs the Reflect metadata @peculiar/x509 needs when it loads.
import { encodePem } from '@meshca/core-mtls'
import { Pkcs10CertificateRequestGenerator } from '@peculiar/x509'

export interface WorkloadKey {
  /** PKCS#8 PEM, for node:tls. */
  readonly privateKeyPem: string
  /** The PKCS#10 request, PEM. */
  readonly csrPem: string
}

const P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const

/** An ECDSA P-256 key: the cheapest handshakes for a proxy that makes and takes many. */
export async function generateWorkloadKey(name: string): Promise<WorkloadKey> {
  const keys = await globalThis.crypto.subtle.generateKey(P256, true, ['sign', 'verify'])
  const csr = await Pkcs10CertificateRequestGenerator.create({
    name: `CN=${name.replace(/[^A-Za-z0-9._-]/g, '_')}`,
    keys,
    signingAlgorithm: P256,
  })
  const pkcs8 = await globalThis.crypto.subtle.exportKey('pkcs8', keys.privateKey)
  return {
    privateKeyPem: encodePem('PRIVATE KEY', new Uint8Array(pkcs8)),
    csrPem: csr.toString('pem'),
  }
}
