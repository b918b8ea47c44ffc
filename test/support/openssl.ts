/** CA material made by the openssl CLI, an implementation independent of the code under test. */
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { removeDir, tempDir } from './processes.ts'

export interface Pem {
  readonly cert: string
  readonly key: string
}

/** A self-signed CA with the given `[ext]` lines, on an RSA-2048 key unless `newKey` says otherwise. */
export function opensslCa(
  subject: string,
  extensions: readonly string[],
  newKey: readonly string[] = ['-newkey', 'rsa:2048']
): Pem {
  const dir = tempDir('openssl')
  try {
    writeFileSync(
      join(dir, 'x.cnf'),
      `[req]\ndistinguished_name=dn\n[dn]\n[ext]\n${extensions.join('\n')}\n`
    )
    execFileSync(
      'openssl',
      [
        'req',
        '-config',
        'x.cnf',
        '-new',
        ...newKey,
        '-nodes',
        '-subj',
        `/CN=${subject}`,
        '-x509',
        '-days',
        '30',
        '-extensions',
        'ext',
        '-keyout',
        'key.pem',
        '-out',
        'crt.pem',
      ],
      { cwd: dir, stdio: 'pipe' }
    )
    return {
      cert: readFileSync(join(dir, 'crt.pem'), 'utf8'),
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
    }
  } finally {
    removeDir(dir)
  }
}

/** The brief's `sample-ca-openssl.sh`, run as the user would. */
export function briefSampleCa(script: string): Pem {
  const dir = tempDir('sample-ca')
  try {
    execFileSync('bash', [script], { cwd: dir, stdio: 'pipe' })
    return {
      cert: readFileSync(join(dir, 'crt.pem'), 'utf8'),
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
    }
  } finally {
    removeDir(dir)
  }
}

export function base64(text: string): string {
  return Buffer.from(text).toString('base64')
}

/** Key kinds `opensslKey` makes: `rsa:<bits>`, `ec:<curve>`, `dsa:<bits>`, `ed25519`, `ed448`. */
export type KeyKind = `rsa:${number}` | `ec:${string}` | `dsa:${number}` | 'ed25519' | 'ed448'

function genpkeyArgs(kind: KeyKind, dir: string): string[] {
  const [family, size = ''] = kind.split(':')
  switch (family) {
    case 'rsa':
      return ['-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${size}`]
    case 'ec':
      return ['-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${size}`]
    case 'dsa':
      execFileSync(
        'openssl',
        [
          'genpkey',
          '-genparam',
          '-algorithm',
          'DSA',
          '-pkeyopt',
          `dsa_paramgen_bits:${size}`,
          '-out',
          'params.pem',
        ],
        { cwd: dir, stdio: 'pipe' }
      )
      return ['-paramfile', 'params.pem']
    default:
      return ['-algorithm', family === 'ed448' ? 'ED448' : 'ED25519']
  }
}

/** A private key (PKCS#8 PEM) made by `openssl genpkey`. */
export function opensslKey(kind: KeyKind): string {
  const dir = tempDir('key')
  try {
    const args = genpkeyArgs(kind, dir)
    return execFileSync('openssl', ['genpkey', ...args], { cwd: dir, stdio: 'pipe' }).toString()
  } finally {
    removeDir(dir)
  }
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
  const dir = tempDir('req')
  try {
    writeFileSync(join(dir, 'key.pem'), key)
    writeFileSync(
      join(dir, 'x.cnf'),
      `[req]\ndistinguished_name=dn\n[dn]\n[ext]\n${extensions.join('\n')}\n`
    )
    const ext = extensions.length === 0 ? [] : [x509 ? '-extensions' : '-reqexts', 'ext']
    const args = ['req', '-config', 'x.cnf', '-new', '-key', 'key.pem', '-subj', subject, ...ext]
    const more = x509 ? ['-x509', '-days', '30'] : []
    return execFileSync('openssl', [...args, ...more], { cwd: dir, stdio: 'pipe' }).toString()
  } finally {
    removeDir(dir)
  }
}
