/** One-off CA material: each call makes its certificates in a folder of its own, then removes it. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type CaOptions, type OpensslCa, OpensslCaBuilder } from './ca-builder.ts'

/** What a CA needs to pass every check: CA, signs certificates, keyed identifiers. */
export const CA_EXTENSIONS = [
  'basicConstraints=critical,CA:TRUE',
  'keyUsage=critical,keyCertSign,cRLSign',
  'subjectKeyIdentifier=hash',
  'authorityKeyIdentifier=keyid:always',
] as const

/** The brief's recipe (`sample-ca-openssl.sh`): CA:TRUE, pathlen:0, keyCertSign only. */
export const BRIEF_CA_EXTENSIONS = ['basicConstraints=CA:TRUE,pathlen:0', 'keyUsage=keyCertSign']

function withBuilder<T>(work: (builder: OpensslCaBuilder) => T): T {
  const builder = new OpensslCaBuilder()
  try {
    return work(builder)
  } finally {
    builder.dispose()
  }
}

type OneOffOptions = Omit<CaOptions, 'extensions'>

/** A self-signed CA with exactly these `[ext]` lines; RSA-2048 and a year unless `options` say. */
export function selfSignedCa(
  subject: string,
  extensions: readonly string[],
  options: OneOffOptions = {}
): OpensslCa {
  return withBuilder((b) => b.root(subject, { days: 365, ...options, extensions }))
}

/** `ca` renewed: the same subject and key, a new certificate (two years, a new serial). */
export function renewedCa(
  ca: OpensslCa,
  subject: string,
  extensions: readonly string[]
): OpensslCa {
  return withBuilder((b) => b.renewed(ca, subject, { days: 730, extensions }))
}

/** An intermediate signed by `root`, with these `[ext]` lines, valid a year; its key signs. */
export function intermediateCa(
  root: OpensslCa,
  subject: string,
  extensions: readonly string[]
): OpensslCa {
  return withBuilder((b) => b.signed(subject, root, { days: 365, extensions }))
}

export interface OpensslChain {
  readonly rootPem: string
  readonly rootKeyPem: string
  readonly intermediatePem: string
  readonly intermediateKeyPem: string
}

/** A root and an intermediate (`pathlen:0`) it signed, both on RSA-2048 or both on P-256. */
export function opensslChain(keyAlgorithm: 'rsa:2048' | 'ec' = 'rsa:2048'): OpensslChain {
  const key = keyAlgorithm === 'ec' ? 'ec:P-256' : 'rsa:2048'
  const keyed = ['subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid']
  const usage = 'keyUsage=critical,keyCertSign,cRLSign'
  return withBuilder((b) => {
    const root = b.root('/O=Example/CN=Example Root', {
      key,
      days: 365,
      extensions: ['basicConstraints=critical,CA:TRUE', usage, ...keyed],
    })
    const intermediate = b.signed('/O=Example/CN=Example Intermediate', root, {
      key,
      days: 365,
      extensions: ['basicConstraints=critical,CA:TRUE,pathlen:0', usage, ...keyed],
    })
    return {
      rootPem: root.certPem,
      rootKeyPem: root.keyPem,
      intermediatePem: intermediate.certPem,
      intermediateKeyPem: intermediate.keyPem,
    }
  })
}

/** The brief's `sample-ca-openssl.sh`, run as the user would: the `crt.pem`/`key.pem` it writes. */
export function briefSampleCa(script: string): OpensslCa {
  return withBuilder((b) => {
    const dir = b.runScript(script)
    return {
      certPem: readFileSync(join(dir, 'crt.pem'), 'utf8'),
      keyPem: readFileSync(join(dir, 'key.pem'), 'utf8'),
    }
  })
}
