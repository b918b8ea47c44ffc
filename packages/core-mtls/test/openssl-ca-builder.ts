/**
 * Builds CA certificates with the openssl CLI, so that the provided-CA checks are exercised on
 * material made by an independent implementation rather than by the code under test.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface OpensslCa {
  /** Base name of `<name>.pem` / `<name>.key` in the workspace. */
  readonly name: string
  readonly certPem: string
  /** PKCS#8 (`PRIVATE KEY`), as openssl 3 writes it. */
  readonly keyPem: string
}

/** `rsa-1024`: a key too weak for any verifier at OpenSSL's default security level. */
export type OpensslKey = 'rsa' | 'rsa-1024' | 'ec'

export interface CaOptions {
  /** Lines of the `[ext]` section, e.g. `basicConstraints=critical,CA:TRUE`. */
  readonly extensions: readonly string[]
  readonly key?: OpensslKey
  /** `YYYYMMDDHHMMSSZ`; with `notAfter`, the certificate is made with `openssl ca` (3.0 has no `-not_before`). */
  readonly notBefore?: string
  readonly notAfter?: string
}

export const CA_EXTENSIONS = [
  'basicConstraints=critical,CA:TRUE',
  'keyUsage=critical,keyCertSign,cRLSign',
  'subjectKeyIdentifier=hash',
  'authorityKeyIdentifier=keyid:always',
] as const

const CA_DATABASE_CONFIG = `
[ca]
default_ca = ca_default
[ca_default]
dir = .
database = index.txt
new_certs_dir = issued
serial = serial
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
[policy_any]
commonName = supplied
`

export class OpensslCaBuilder {
  readonly dir: string
  #count = 0

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'meshca-provided-ca-'))
    mkdirSync(join(this.dir, 'issued'))
    writeFileSync(join(this.dir, 'index.txt'), '')
    writeFileSync(join(this.dir, 'serial'), '1000\n')
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true })
  }

  run(args: readonly string[], cwd = this.dir): string {
    try {
      return execFileSync('openssl', args, {
        cwd,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    } catch (error) {
      const { stderr } = error as { stderr?: string }
      throw new Error(`openssl ${args.join(' ')} failed: ${stderr ?? String(error)}`)
    }
  }

  read(file: string): string {
    return readFileSync(join(this.dir, file), 'utf8')
  }

  write(file: string, content: string): string {
    const path = join(this.dir, file)
    writeFileSync(path, content)
    return path
  }

  #config(name: string, extensions: readonly string[]): string {
    return this.write(
      `${name}.cnf`,
      `${CA_DATABASE_CONFIG}\n[req]\ndistinguished_name=dn\n[dn]\n[ext]\n${extensions.join('\n')}\n`
    )
  }

  #newKeyArgs(key: OpensslKey): string[] {
    if (key === 'ec') return ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']
    return ['-newkey', key === 'rsa-1024' ? 'rsa:1024' : 'rsa:2048']
  }

  #name(subject: string): string {
    this.#count += 1
    return `${subject.replace(/[^A-Za-z0-9]/g, '')}-${this.#count}`
  }

  #result(name: string): OpensslCa {
    return { name, certPem: this.read(`${name}.pem`), keyPem: this.read(`${name}.key`) }
  }

  /** A self-signed certificate with `CN=<subject>`. */
  root(subject: string, options: CaOptions): OpensslCa {
    const name = this.#name(subject)
    const config = this.#config(name, options.extensions)
    const keyArgs = this.#newKeyArgs(options.key ?? 'rsa')
    const subj = `/CN=${subject}`
    if (options.notBefore !== undefined && options.notAfter !== undefined) {
      this.run([
        'req',
        '-new',
        ...keyArgs,
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        subj,
        '-config',
        config,
      ])
      this.run([
        'ca',
        '-batch',
        '-config',
        config,
        '-selfsign',
        '-keyfile',
        `${name}.key`,
        '-in',
        `${name}.csr`,
        '-out',
        `${name}.pem`,
        '-startdate',
        options.notBefore,
        '-enddate',
        options.notAfter,
        '-extfile',
        config,
        '-extensions',
        'ext',
        '-notext',
      ])
    } else {
      this.run([
        'req',
        '-x509',
        ...keyArgs,
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.pem`,
        '-subj',
        subj,
        '-days',
        '3650',
        '-config',
        config,
        '-extensions',
        'ext',
      ])
    }
    return this.#result(name)
  }

  /** A certificate with `CN=<subject>` signed by `issuer`. */
  signed(subject: string, issuer: OpensslCa, options: CaOptions): OpensslCa {
    const name = this.#name(subject)
    const config = this.#config(name, options.extensions)
    const keyArgs = this.#newKeyArgs(options.key ?? 'rsa')
    this.run([
      'req',
      '-new',
      ...keyArgs,
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${subject}`,
      '-config',
      config,
    ])
    this.run([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${issuer.name}.pem`,
      '-CAkey',
      `${issuer.name}.key`,
      '-CAcreateserial',
      '-days',
      '1825',
      '-sha256',
      '-extfile',
      config,
      '-extensions',
      'ext',
      '-out',
      `${name}.pem`,
    ])
    return this.#result(name)
  }

  /** The same key in PKCS#1 (`RSA PRIVATE KEY`), the encoding of Kuma's own fixtures. */
  pkcs1Key(ca: OpensslCa): string {
    return this.run(['rsa', '-in', `${ca.name}.key`, '-traditional'])
  }

  /** Runs a shell recipe (the product brief's sample) in a fresh sub-folder and returns it. */
  runScript(script: string): string {
    const cwd = join(this.dir, this.#name('script'))
    mkdirSync(cwd)
    execFileSync('bash', [script], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    return cwd
  }
}
