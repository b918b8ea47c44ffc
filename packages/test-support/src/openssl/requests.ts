/** Certificate requests (and bare self-signed certificates) made by `openssl req`. */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runOpenssl, withTempDir } from './run.ts'

/** An openssl config whose `[ext]` section holds these lines. */
export function extConfig(extensions: readonly string[]): string {
  return `[req]\ndistinguished_name=dn\n[dn]\n[ext]\n${extensions.join('\n')}\n`
}

/**
 * `openssl req` on `key`: a PKCS#10 request (`x509: false`) or a self-signed certificate valid 30
 * days, with the given subject and `[ext]` lines (SANs, basic constraints, …).
 */
export function opensslRequest(
  key: string,
  subject: string,
  extensions: readonly string[] = [],
  x509 = false
): string {
  return withTempDir((dir) => {
    writeFileSync(join(dir, 'key.pem'), key)
    writeFileSync(join(dir, 'x.cnf'), extConfig(extensions))
    const ext = extensions.length === 0 ? [] : [x509 ? '-extensions' : '-reqexts', 'ext']
    const args = ['req', '-config', 'x.cnf', '-new', '-key', 'key.pem', '-subj', subject, ...ext]
    return runOpenssl(dir, [...args, ...(x509 ? ['-x509', '-days', '30'] : [])])
  })
}

/**
 * A CSR for `CN=admin` asking for `spiffe://default/admin`, on a new key (`newkey`: what follows
 * `-newkey`, e.g. `['rsa:2048']` or `['ec', '-pkeyopt', 'ec_paramgen_curve:P-256']`).
 */
export function opensslCsr(newkey: readonly string[]): { csr: string; key: string } {
  return withTempDir((dir) => {
    runOpenssl(dir, [
      ...['req', '-new', '-newkey', ...newkey, '-nodes', '-keyout', 'k.pem', '-out', 'r.pem'],
      ...['-subj', '/CN=admin', '-addext', 'subjectAltName=URI:spiffe://default/admin'],
    ])
    return {
      csr: readFileSync(join(dir, 'r.pem'), 'utf8'),
      key: readFileSync(join(dir, 'k.pem'), 'utf8'),
    }
  })
}
