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
