/**
 * CA certificates made with the openssl CLI in one working folder, so that the checks of provided
 * CAs run on material from an implementation independent of the code under test.
 */

import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type KeyKind, newKeyArgs } from './keys.ts'
import { runOpenssl } from './run.ts'

/** A CA certificate and its key (PKCS#8 `PRIVATE KEY`, as openssl 3 writes it). */
export interface OpensslCa {
  readonly certPem: string
  readonly keyPem: string
  /** Base name of `<name>.pem` / `<name>.key` in the folder of the builder that made it. */
  readonly name?: string
}

export interface CaOptions {
  /** Lines of the `[ext]` section, e.g. `basicConstraints=critical,CA:TRUE`. */
  readonly extensions: readonly string[]
  /** Default `rsa:2048`. */
  readonly key?: KeyKind
  /** Default 3650 for a root, 1825 for a signed certificate. */
  readonly days?: number
  /** `YYYYMMDDHHMMSSZ`; with `notAfter`, a root is made with `openssl ca` (3.0 has no `-not_before`). */
  readonly notBefore?: string
  readonly notAfter?: string
  /** Names as UTF8String (`-utf8`, `string_mask = utf8only`), for subjects beyond ASCII. */
  readonly utf8?: boolean
}

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

/** `subject` as `-subj` takes it: a whole DN (`/O=…/CN=…`) or a bare common name. */
function subjectArg(subject: string): string {
  return subject.startsWith('/') ? subject : `/CN=${subject}`
}

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
    return runOpenssl(cwd, args)
  }

  read(file: string): string {
    return readFileSync(join(this.dir, file), 'utf8')
  }

  write(file: string, content: string): string {
    const path = join(this.dir, file)
    writeFileSync(path, content)
    return path
  }

  #config(name: string, options: CaOptions): string {
    const utf8 = options.utf8 ? 'utf8=yes\nstring_mask=utf8only\n' : ''
    const ext = options.extensions.join('\n')
    return this.write(
      `${name}.cnf`,
      `${CA_DATABASE_CONFIG}\n[req]\ndistinguished_name=dn\n${utf8}[dn]\n[ext]\n${ext}\n`
    )
  }

  #name(subject: string): string {
    this.#count += 1
    return `${subject.replace(/[^A-Za-z0-9]/g, '').slice(0, 40)}-${this.#count}`
  }

  #result(name: string): OpensslCa {
    return { name, certPem: this.read(`${name}.pem`), keyPem: this.read(`${name}.key`) }
  }

  /** The base name of `ca`'s files here, writing them first when another folder made it. */
  #place(ca: OpensslCa): string {
    if (ca.name !== undefined && existsSync(join(this.dir, `${ca.name}.pem`))) return ca.name
    const name = this.#name('placed')
    this.write(`${name}.pem`, ca.certPem)
    this.write(`${name}.key`, ca.keyPem)
    return name
  }

  #request(name: string, subject: string, config: string, options: CaOptions): void {
    this.run([
      ...['req', '-new', ...newKeyArgs(options.key ?? 'rsa:2048'), '-nodes'],
      ...['-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subjectArg(subject)],
      ...(options.utf8 ? ['-utf8'] : []),
      ...['-config', config],
    ])
  }

  /** A self-signed certificate with this subject (`CN=<subject>` unless a whole DN). */
  root(subject: string, options: CaOptions): OpensslCa {
    const name = this.#name(subject)
    const config = this.#config(name, options)
    if (options.notBefore !== undefined && options.notAfter !== undefined) {
      this.#request(name, subject, config, options)
      this.run([
        ...['ca', '-batch', '-config', config, '-selfsign', '-keyfile', `${name}.key`],
        ...['-in', `${name}.csr`, '-out', `${name}.pem`],
        ...['-startdate', options.notBefore, '-enddate', options.notAfter],
        ...['-extfile', config, '-extensions', 'ext', '-notext'],
      ])
    } else {
      this.run([
        ...['req', '-x509', ...newKeyArgs(options.key ?? 'rsa:2048'), '-nodes'],
        ...['-keyout', `${name}.key`, '-out', `${name}.pem`, '-subj', subjectArg(subject)],
        ...(options.utf8 ? ['-utf8'] : []),
        ...['-days', String(options.days ?? 3650), '-config', config, '-extensions', 'ext'],
      ])
    }
    return this.#result(name)
  }

  /** `ca` renewed: the same subject and key in a new certificate (validity, serial). */
  renewed(ca: OpensslCa, subject: string, options: CaOptions): OpensslCa {
    const name = this.#name(subject)
    const config = this.#config(name, options)
    this.write(`${name}.key`, ca.keyPem)
    this.run([
      ...['req', '-x509', '-new', '-key', `${name}.key`, '-out', `${name}.pem`],
      ...['-subj', subjectArg(subject), '-days', String(options.days ?? 3650)],
      ...['-config', config, '-extensions', 'ext'],
    ])
    return this.#result(name)
  }

  /** A certificate with this subject signed by `issuer`. */
  signed(subject: string, issuer: OpensslCa, options: CaOptions): OpensslCa {
    const name = this.#name(subject)
    const config = this.#config(name, options)
    const issuerName = this.#place(issuer)
    this.#request(name, subject, config, options)
    this.run([
      ...['x509', '-req', '-in', `${name}.csr`],
      ...['-CA', `${issuerName}.pem`, '-CAkey', `${issuerName}.key`, '-CAcreateserial'],
      ...['-days', String(options.days ?? 1825), '-sha256'],
      ...['-extfile', config, '-extensions', 'ext', '-out', `${name}.pem`],
    ])
    return this.#result(name)
  }

  /** The same key in PKCS#1 (`RSA PRIVATE KEY`), the encoding of Kuma's own fixtures. */
  pkcs1Key(ca: OpensslCa): string {
    return this.run(['rsa', '-in', `${this.#place(ca)}.key`, '-traditional'])
  }

  /** Runs a shell recipe (the product brief's sample) in a fresh sub-folder and returns it. */
  runScript(script: string): string {
    const cwd = join(this.dir, this.#name('script'))
    mkdirSync(cwd)
    execFileSync('bash', [script], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    return cwd
  }
}
