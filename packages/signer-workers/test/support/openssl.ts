/** The independent verifier and CA maker: the openssl CLI, run in a temporary folder. */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export function withTempDir<T>(run: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'meshca-signer-'))
  try {
    return run(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export function toPem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64')
  return `-----BEGIN ${label}-----\n${base64.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END ${label}-----\n`
}

export interface OpensslCa {
  readonly certificatePem: string
  readonly keyPem: string
}

/** A self-signed CA made by openssl, so that the CA side of the tests owes nothing to our code. */
export function opensslCa(options: {
  readonly key: 'ed25519' | 'rsa:2048' | 'ec:P-384' | 'ec:P-256'
  readonly subject: string
  readonly subjectKeyIdentifier: boolean
}): OpensslCa {
  const newkey =
    options.key === 'ed25519'
      ? ['-newkey', 'ed25519']
      : options.key.startsWith('ec:')
        ? ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${options.key.slice(3)}`]
        : ['-newkey', options.key]
  const config = `[req]
distinguished_name = dn
utf8 = yes
string_mask = utf8only
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = ${options.subjectKeyIdentifier ? 'hash' : 'none'}
authorityKeyIdentifier = none
`
  return withTempDir((dir) => {
    writeFileSync(join(dir, 'ca.cnf'), config)
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        ...newkey,
        '-nodes',
        '-utf8',
        '-subj',
        options.subject,
        '-days',
        '3650',
      ].concat(['-config', 'ca.cnf', '-extensions', 'ca', '-keyout', 'ca.key', '-out', 'ca.pem']),
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }
    )
    return {
      certificatePem: readFileSync(join(dir, 'ca.pem'), 'utf8'),
      keyPem: readFileSync(join(dir, 'ca.key'), 'utf8'),
    }
  })
}

/**
 * `openssl verify -x509_strict` (or plain `verify` when `strict` is false) of many leaves against one CA in one run; returns the lines that
 * are not `<file>: OK`, so an empty list means every leaf verified.
 */
export function verifyStrict(
  caPem: string,
  leaves: readonly Uint8Array[],
  strict = true
): string[] {
  return withTempDir((dir) => {
    writeFileSync(join(dir, 'ca.pem'), caPem)
    const files = leaves.map((der, i) => {
      const name = `leaf-${i}.pem`
      writeFileSync(join(dir, name), toPem('CERTIFICATE', der))
      return name
    })
    let output: string
    try {
      const flags = strict ? ['-x509_strict'] : []
      output = execFileSync('openssl', ['verify', ...flags, '-CAfile', 'ca.pem', ...files], {
        cwd: dir,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string }
      output = `${e.stdout ?? ''}${e.stderr ?? ''}`
    }
    const lines = output.split('\n').filter((line) => line.trim() !== '')
    const ok = new Set(files.map((f) => `${f}: OK`))
    const failures = lines.filter((line) => !ok.has(line))
    if (lines.length < files.length && failures.length === 0) failures.push(output)
    return failures
  })
}
