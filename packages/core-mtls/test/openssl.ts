/** The independent verifier: the openssl CLI, run on files in a temporary folder. */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface OpensslResult {
  readonly ok: boolean
  readonly output: string
}

export function openssl(
  args: readonly string[],
  files: Record<string, string> = {},
  input?: string
): OpensslResult {
  const dir = mkdtempSync(join(tmpdir(), 'meshca-openssl-'))
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content)
    const output = execFileSync('openssl', args, {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(input === undefined ? {} : { input }),
    })
    return { ok: true, output }
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string }
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** `openssl verify -x509_strict` of a leaf (plus untrusted intermediates) against a bundle. */
export function verifyStrict(
  bundlePem: string,
  chainPem: string,
  extra: readonly string[] = []
): OpensslResult {
  const certs =
    chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g) ?? []
  const [leaf, ...intermediates] = certs
  const files: Record<string, string> = { 'bundle.pem': bundlePem, 'leaf.pem': leaf ?? '' }
  const args = ['verify', '-x509_strict', '-CAfile', 'bundle.pem', ...extra]
  if (intermediates.length > 0) {
    files['untrusted.pem'] = intermediates.join('')
    args.push('-untrusted', 'untrusted.pem')
  }
  args.push('leaf.pem')
  return openssl(args, files)
}

export function certificateText(pem: string): string {
  const result = openssl(['x509', '-noout', '-text', '-in', 'cert.pem'], { 'cert.pem': pem })
  if (!result.ok) throw new Error(result.output)
  return result.output
}

/** Runs openssl commands in one temporary folder and returns the files they wrote. */
export function opensslFiles(
  commands: readonly (readonly string[])[],
  inputs: Record<string, string>,
  outputs: readonly string[]
): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'meshca-openssl-'))
  try {
    for (const [name, content] of Object.entries(inputs)) writeFileSync(join(dir, name), content)
    for (const args of commands) {
      execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    }
    return Object.fromEntries(outputs.map((name) => [name, readFileSync(join(dir, name), 'utf8')]))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const CA_EXTENSIONS = `[ca]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[intermediate]
basicConstraints=critical,CA:TRUE,pathlen:0
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
`

/** A root and an intermediate it signed, made by openssl (not by the code under test). */
export function opensslChain(keyAlgorithm: 'rsa:2048' | 'ec' = 'rsa:2048'): {
  rootPem: string
  rootKeyPem: string
  intermediatePem: string
  intermediateKeyPem: string
} {
  const newkey =
    keyAlgorithm === 'ec'
      ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']
      : ['-newkey', 'rsa:2048']
  const files = opensslFiles(
    [
      [
        'req',
        '-x509',
        ...newkey,
        '-nodes',
        '-keyout',
        'root.key',
        '-out',
        'root.pem',
        '-subj',
        '/O=Example/CN=Example Root',
        '-days',
        '365',
        '-config',
        'ext.cnf',
        '-extensions',
        'ca',
      ],
      [
        'req',
        '-new',
        ...newkey,
        '-nodes',
        '-keyout',
        'int.key',
        '-out',
        'int.csr',
        '-subj',
        '/O=Example/CN=Example Intermediate',
        '-config',
        'ext.cnf',
      ],
      [
        'x509',
        '-req',
        '-in',
        'int.csr',
        '-CA',
        'root.pem',
        '-CAkey',
        'root.key',
        '-set_serial',
        '4242',
        '-out',
        'int.pem',
        '-days',
        '365',
        '-extfile',
        'ext.cnf',
        '-extensions',
        'intermediate',
      ],
    ],
    { 'ext.cnf': `[req]\ndistinguished_name=dn\n[dn]\n${CA_EXTENSIONS}` },
    ['root.pem', 'root.key', 'int.pem', 'int.key']
  )
  return {
    rootPem: files['root.pem'] ?? '',
    rootKeyPem: files['root.key'] ?? '',
    intermediatePem: files['int.pem'] ?? '',
    intermediateKeyPem: files['int.key'] ?? '',
  }
}
