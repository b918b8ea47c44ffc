/**
 * The bench's certificates, made with the openssl command line into a temporary folder: a P-256
 * CA and P-256 leaves for `web` and `backend`, each with the URI SANs a meshca data plane
 * certificate carries (`spiffe://default/<service>` and `kuma://kuma.io/service/<service>`) and
 * the extended key usages serverAuth and clientAuth. Both proxies serve the same files.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface Leaf {
  readonly service: string
  /** The leaf's certificate, PEM. */
  readonly certificatePem: string
  /** Its PKCS#8 private key, PEM. */
  readonly keyPem: string
  /** Certificate then key, the form HAProxy's `crt` reads. */
  readonly combinedPath: string
}

export interface BenchCertificates {
  readonly caPem: string
  readonly caPath: string
  readonly leaves: Readonly<Record<'web' | 'backend', Leaf>>
  /** The leaves' expiry (they are valid for a day). */
  readonly notAfter: Date
  readonly opensslVersion: string
}

function openssl(dir: string, ...args: string[]): string {
  return execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: 'pipe' })
}

export function makeCertificates(dir: string, mesh = 'default'): BenchCertificates {
  const opensslVersion = openssl(dir, 'version').trim()
  openssl(
    dir,
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-out',
    'ca.key'
  )
  writeFileSync(
    join(dir, 'ca.cnf'),
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      'x509_extensions = v3_ca',
      '[dn]',
      `O = ${mesh}`,
      'CN = meshca bench CA',
      '[v3_ca]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      '',
    ].join('\n')
  )
  openssl(
    dir,
    'req',
    '-new',
    '-x509',
    '-key',
    'ca.key',
    '-config',
    'ca.cnf',
    '-days',
    '2',
    '-out',
    'ca.pem'
  )
  const leaf = (service: string): Leaf => {
    openssl(
      dir,
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-out',
      `${service}.key`
    )
    writeFileSync(
      join(dir, `${service}.cnf`),
      [
        '[req]',
        'distinguished_name = dn',
        'prompt = no',
        '[dn]',
        `O = ${mesh}`,
        // HAProxy cannot match a URI SAN; it checks the SNI it sends against the certificate's
        // names instead, so the CN is the service's SNI (Kuma's SNIFromTags). meshca-dp ignores it.
        `CN = ${service}{mesh=${mesh}}`,
        '[v3_leaf]',
        'basicConstraints = critical, CA:FALSE',
        'keyUsage = critical, digitalSignature',
        'extendedKeyUsage = serverAuth, clientAuth',
        `subjectAltName = critical, URI:spiffe://${mesh}/${service}, URI:kuma://kuma.io/service/${service}`,
        'authorityKeyIdentifier = keyid',
        '',
      ].join('\n')
    )
    openssl(
      dir,
      'req',
      '-new',
      '-key',
      `${service}.key`,
      '-config',
      `${service}.cnf`,
      '-out',
      `${service}.csr`
    )
    openssl(
      dir,
      'x509',
      '-req',
      '-in',
      `${service}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      `${service}.cnf`,
      '-extensions',
      'v3_leaf',
      '-out',
      `${service}.crt`
    )
    const certificatePem = readFileSync(join(dir, `${service}.crt`), 'utf8')
    const keyPem = readFileSync(join(dir, `${service}.key`), 'utf8')
    const combinedPath = join(dir, `${service}.pem`)
    writeFileSync(combinedPath, certificatePem + keyPem)
    return { service, certificatePem, keyPem, combinedPath }
  }
  const caPath = join(dir, 'ca.pem')
  return {
    caPem: readFileSync(caPath, 'utf8'),
    caPath,
    leaves: { web: leaf('web'), backend: leaf('backend') },
    notAfter: new Date(Date.now() + 23 * 3600_000),
    opensslVersion,
  }
}
