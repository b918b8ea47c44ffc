import 'reflect-metadata'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CA_EXTENSIONS, type OpensslCa, OpensslCaBuilder } from '@meshca/test-support/openssl'
import * as x509 from '@peculiar/x509'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXAMPLES_DIR } from '../../test/examples.ts'
import { isMeshcaError, MeshcaError } from '../errors.ts'
import { silentLogger, webRandom } from '../ports/runtime.ts'
import type { CaBackendSpec } from '../resources/mesh.ts'
import type { JsonObject } from '../resources/types.ts'
import { toBase64, utf8 } from '../util/bytes.ts'
import type { CaContext, LoadedCa, SecretAccess, StoredSecret } from './ca-backend.ts'
import { FILE_SOURCES_DISABLED } from './data-source.ts'
import { certificatesFromPem, encodePem } from './pem.ts'
import { importPrivateKey, parsePkcs8 } from './private-key.ts'
import { providedCaBackend } from './provided.ts'

const crypto = globalThis.crypto
const MESH = 'default'
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000 + 86_400_000)
const NOW_TEXT = NOW.toISOString().replace('.000Z', 'Z')

const KUMA_CA =
  "basic constraint 'CA' must be set to 'true' (see X509-SVID: 4.1. Basic Constraints)"
const KUMA_KEY_CERT_SIGN =
  "key usage extension 'keyCertSign' must be set (see X509-SVID: 4.3. Key Usage)"
const KUMA_KEY_AGREEMENT =
  "key usage extension 'keyAgreement' must NOT be set (see X509-SVID: Appendix A. X.509 Field Reference)"

interface RecordingSecrets extends SecretAccess {
  readonly reads: string[]
}

function secretsOf(entries: Record<string, string>): RecordingSecrets {
  const reads: string[] = []
  return {
    reads,
    async get(mesh: string, name: string): Promise<StoredSecret | undefined> {
      reads.push(name)
      const text = mesh === MESH ? entries[name] : undefined
      return text === undefined ? undefined : { data: utf8(text), version: '1' }
    },
    async create() {
      throw new Error('a provided CA never writes Secrets')
    },
    async update() {
      throw new Error('a provided CA never writes Secrets')
    },
  }
}

function context(secrets: SecretAccess = secretsOf({}), now = NOW): CaContext {
  return {
    crypto,
    clock: { now: () => now },
    random: webRandom(),
    logger: silentLogger,
    secrets,
    readFile: async (path: string) => new Uint8Array(await readFile(path)),
  }
}

function backend(conf?: JsonObject, name = 'ca-1'): CaBackendSpec {
  return conf === undefined ? { name, type: 'provided' } : { name, type: 'provided', conf }
}

function inline(pem: string): JsonObject {
  return { inline: toBase64(utf8(pem)) }
}

function pemConf(certPem: string, keyPem: string): JsonObject {
  return { cert: { inlineString: certPem }, key: { inlineString: keyPem } }
}

async function validate(conf: JsonObject | undefined, ctx = context()) {
  return providedCaBackend.validate(ctx, MESH, backend(conf))
}

async function loadError(ctx: CaContext, spec: CaBackendSpec): Promise<MeshcaError> {
  const error = await providedCaBackend.load(ctx, MESH, spec).then(
    () => undefined,
    (e: unknown) => e
  )
  if (!(error instanceof MeshcaError))
    throw new Error(`expected a MeshcaError, got ${String(error)}`)
  return error
}

let openssl: OpensslCaBuilder
let root: OpensslCa
let otherRoot: OpensslCa
let intermediate: OpensslCa
let subIntermediate: OpensslCa

beforeAll(() => {
  openssl = new OpensslCaBuilder()
  root = openssl.root('Root A', { extensions: CA_EXTENSIONS })
  otherRoot = openssl.root('Root B', { extensions: CA_EXTENSIONS })
  intermediate = openssl.signed('Intermediate A', root, { extensions: CA_EXTENSIONS })
  subIntermediate = openssl.signed('Issuing A', intermediate, {
    extensions: [
      'basicConstraints=critical,CA:TRUE,pathlen:0',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
  })
})

afterAll(() => openssl.dispose())

describe('providedCaBackend basics', () => {
  it('is the provided type and creates nothing', async () => {
    expect(providedCaBackend.type).toBe('provided')
    const secrets = secretsOf({})
    await expect(
      providedCaBackend.ensure(context(secrets), MESH, backend(pemConf('', '')))
    ).resolves.toBeUndefined()
    expect(secrets.reads).toEqual([])
  })

  it('uses the cert Secret then the key Secret', () => {
    const conf = { cert: { secret: 'ca-cert' }, key: { secret: 'ca-key' } }
    expect(providedCaBackend.usedSecrets(MESH, backend(conf))).toEqual(['ca-cert', 'ca-key'])
    expect(
      providedCaBackend.usedSecrets(MESH, backend({ cert: { file: '/f' }, key: { secret: 'k' } }))
    ).toEqual(['k'])
    expect(providedCaBackend.usedSecrets(MESH, backend({ cert: { secret: '' } }))).toEqual([])
    expect(providedCaBackend.usedSecrets(MESH, backend())).toEqual([])
  })
})

describe('validate: configuration (docs/kuma-compatibility.md §2.4 steps 1–3)', () => {
  it('requires cert and key (Kuma’s golden “should validate all CAs”)', async () => {
    expect(await validate(undefined)).toEqual({
      violations: [
        { field: 'conf.cert', message: 'has to be defined' },
        { field: 'conf.key', message: 'has to be defined' },
      ],
      warnings: [],
    })
    expect((await validate({ cert: null, key: null })).violations).toHaveLength(2)
  })

  it('reports a conf that cannot be converted, and only that', async () => {
    expect(await validate({ cert: 'ca.pem' })).toEqual({
      violations: [
        {
          field: 'conf',
          message: 'could not convert backend config: cert: expected an object, got string',
        },
      ],
      warnings: [],
    })
    expect((await validate({ cert: { secret: 'a', file: 'b' } })).violations).toEqual([
      {
        field: 'conf',
        message:
          'could not convert backend config: cert: only one of secret, file, inline, inlineString can be set, got secret and file',
      },
    ])
    expect((await validate({ cert: { secret: 'c' }, key: { inline: '!!!' } })).violations).toEqual([
      { field: 'conf', message: 'could not convert backend config: key: inline: not valid base64' },
    ])
  })

  it('reports data source shape errors and does not load anything then', async () => {
    const secrets = secretsOf({ 'ca-cert': root.certPem })
    expect(await validate({ cert: { secret: 'ca-cert' }, key: {} }, context(secrets))).toEqual({
      violations: [
        {
          field: 'conf.key',
          message: 'data source has to be chosen. Available sources: secret, file, inline',
        },
      ],
      warnings: [],
    })
    expect(
      (await validate({ cert: { secret: '' }, key: { file: '' } }, context(secrets))).violations
    ).toEqual([
      { field: 'conf.cert.secret', message: 'cannot be empty' },
      { field: 'conf.key.file', message: 'cannot be empty' },
    ])
    expect(secrets.reads).toEqual([])
  })
})

describe('validate: loading (docs/kuma-compatibility.md §2.4 step 4)', () => {
  it('puts a missing key Secret on both cert and key, loading the key first', async () => {
    const secrets = secretsOf({})
    const conf = { cert: { secret: 'ca-cert' }, key: { secret: 'ca-key' } }
    const message =
      'could not load data: Resource not found: type="Secret" name="ca-key" mesh="default"'
    expect(await validate(conf, context(secrets))).toEqual({
      violations: [
        { field: 'conf.cert', message },
        { field: 'conf.key', message },
      ],
      warnings: [],
    })
    expect(secrets.reads).toEqual(['ca-key'])
  })

  it('puts a missing cert Secret on both when the key is there', async () => {
    const secrets = secretsOf({ 'ca-key': root.keyPem })
    const conf = { cert: { secret: 'ca-cert' }, key: { secret: 'ca-key' } }
    const message =
      'could not load data: Resource not found: type="Secret" name="ca-cert" mesh="default"'
    expect((await validate(conf, context(secrets))).violations).toEqual([
      { field: 'conf.cert', message },
      { field: 'conf.key', message },
    ])
  })

  it('puts a missing file on both', async () => {
    const path = join(openssl.dir, 'invalid.key')
    const message = `could not load data: open ${path}: not a readable regular file of at most 262144 bytes`
    const conf = { cert: { file: join(openssl.dir, `${root.name}.pem`) }, key: { file: path } }
    expect((await validate(conf)).violations).toEqual([
      { field: 'conf.cert', message },
      { field: 'conf.key', message },
    ])
  })

  it('refuses file sources at admission where the host reads no files', async () => {
    const { readFile: _files, ...withoutFiles } = context()
    const conf = { cert: { file: '/etc/ca.pem' }, key: { secret: 'ca-key' } }
    expect((await validate(conf, withoutFiles)).violations).toEqual([
      { field: 'conf.cert.file', message: FILE_SOURCES_DISABLED },
    ])
  })

  it('lets a store outage through instead of blaming the configuration', async () => {
    const outage = new MeshcaError('STORE_UNAVAILABLE', 'connection refused')
    const secrets: SecretAccess = { ...secretsOf({}), get: () => Promise.reject(outage) }
    const conf = { cert: { secret: 'ca-cert' }, key: { secret: 'ca-key' } }
    await expect(validate(conf, context(secrets))).rejects.toBe(outage)
  })
})

describe('validate: the CA itself (docs/kuma-compatibility.md §4, decision 9 of docs/decisions.md), rooted under conf', () => {
  const accepted = { violations: [], warnings: [] }

  it('accepts a root from Secrets, from files, inline and inline strings', async () => {
    const secrets = secretsOf({ 'ca-cert': root.certPem, 'ca-key': root.keyPem })
    expect(
      await validate({ cert: { secret: 'ca-cert' }, key: { secret: 'ca-key' } }, context(secrets))
    ).toEqual(accepted)
    const files = {
      cert: { file: join(openssl.dir, `${root.name}.pem`) },
      key: { file: join(openssl.dir, `${root.name}.key`) },
    }
    expect(await validate(files)).toEqual(accepted)
    expect(await validate({ cert: inline(root.certPem), key: inline(root.keyPem) })).toEqual(
      accepted
    )
    expect(await validate(pemConf(root.certPem, openssl.pkcs1Key(root)))).toEqual(accepted)
  })

  it('accepts the product brief’s sample-ca-openssl.sh recipe', async () => {
    const dir = openssl.runScript(`${EXAMPLES_DIR}/sample-ca-openssl.sh`)
    const conf = { cert: { file: join(dir, 'crt.pem') }, key: { file: join(dir, 'key.pem') } }
    expect(await validate(conf)).toEqual(accepted)
  })

  it('accepts an intermediate followed by its root, with the intermediate’s key', async () => {
    expect(
      await validate(pemConf(intermediate.certPem + root.certPem, intermediate.keyPem))
    ).toEqual(accepted)
  })

  it('refuses a chain that breaks a pathLen constraint, which every verifier would refuse', async () => {
    const strictRoot = openssl.root('Root pathlen 0', {
      extensions: [
        ...CA_EXTENSIONS.filter((e) => !e.startsWith('basic')),
        'basicConstraints=critical,CA:TRUE,pathlen:0',
      ],
    })
    const under = openssl.signed('Under pathlen 0', strictRoot, { extensions: CA_EXTENSIONS })
    expect(
      (await validate(pemConf(under.certPem + strictRoot.certPem, under.keyPem))).violations
    ).toEqual([
      {
        field: 'conf.cert[1]',
        message: "basic constraint 'pathLen' is 0, but 1 CA certificate of the chain is below it",
      },
    ])
    // pathlen:0 on the certificate that signs is fine: data plane certificates are not CAs.
    expect(await validate(pemConf(strictRoot.certPem, strictRoot.keyPem))).toEqual(accepted)
  })

  it('refuses an RSA key under 2048 bits anywhere in the chain', async () => {
    const weak = openssl.root('Weak root', { extensions: CA_EXTENSIONS, key: 'rsa:1024' })
    expect((await validate(pemConf(weak.certPem, weak.keyPem))).violations).toEqual([
      {
        field: 'conf.cert[0]',
        message: 'RSA key of 1024 bits is too weak; at least 2048 bits are required',
      },
    ])
  })

  it('reports `dGVzdA==` inline as no PEM data', async () => {
    expect(await validate({ cert: { inline: 'dGVzdA==' }, key: { inline: 'dGVzdA==' } })).toEqual({
      violations: [
        {
          field: 'conf.cert',
          message:
            'not a valid TLS key pair: tls: failed to find any PEM data in certificate input',
        },
      ],
      warnings: [],
    })
    expect((await validate(pemConf('', root.keyPem))).violations).toEqual([
      {
        field: 'conf.cert',
        message: 'not a valid TLS key pair: tls: failed to find any PEM data in certificate input',
      },
    ])
  })

  it('refuses an inline certificate that carries the private key too: it would be shown and stored in clear', async () => {
    const message =
      'holds a private key: give it in conf.key, which is never shown and is encrypted at rest'
    expect((await validate(pemConf(root.certPem + root.keyPem, root.keyPem))).violations).toEqual([
      { field: 'conf.cert', message },
    ])
    // In a Secret (encrypted, for admins only), as Kuma's one-Secret example has it, both may be.
    const secrets = secretsOf({ both: root.certPem + root.keyPem })
    const conf = { cert: { secret: 'both' }, key: { secret: 'both' } }
    expect((await validate(conf, context(secrets))).violations).toEqual([])
  })

  it('reports switched PEM inputs and a key of another CA at conf.cert', async () => {
    expect((await validate(pemConf(root.keyPem, root.certPem))).violations).toEqual([
      {
        field: 'conf.cert',
        message:
          'not a valid TLS key pair: tls: failed to find certificate PEM data in certificate input, but did find a private key; PEM inputs may have been switched',
      },
    ])
    expect((await validate(pemConf(root.certPem, otherRoot.keyPem))).violations).toEqual([
      {
        field: 'conf.cert',
        message: 'not a valid TLS key pair: tls: private key does not match public key',
      },
    ])
  })

  it('reports Kuma’s rules at conf.cert[i] and warns about leaf usages', async () => {
    const many = openssl.root('Many', {
      extensions: [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyAgreement,keyEncipherment',
      ],
    })
    expect(await validate(pemConf(many.certPem, many.keyPem))).toEqual({
      violations: [
        { field: 'conf.cert[0]', message: KUMA_CA },
        { field: 'conf.cert[0]', message: KUMA_KEY_CERT_SIGN },
        { field: 'conf.cert[0]', message: KUMA_KEY_AGREEMENT },
      ],
      warnings: [
        {
          field: 'conf.cert[0]',
          message:
            "key usage extensions 'digitalSignature' and 'keyEncipherment' should NOT be set (see X509-SVID: 4.3. Key Usage)",
        },
      ],
    })
  })

  it('accepts a CA with only leaf usages set, with a warning', async () => {
    const ca = openssl.root('Leaf usages', {
      extensions: [
        'basicConstraints=critical,CA:TRUE',
        'keyUsage=critical,keyCertSign,digitalSignature,keyEncipherment',
      ],
    })
    const result = await validate(pemConf(ca.certPem, ca.keyPem))
    expect(result.violations).toEqual([])
    expect(result.warnings.map((w) => w.field)).toEqual(['conf.cert[0]'])
  })

  it('reports an expired CA with the injected clock', async () => {
    const expired = openssl.root('Expired', {
      extensions: CA_EXTENSIONS,
      notBefore: '20200101000000Z',
      notAfter: '20210101000000Z',
    })
    expect((await validate(pemConf(expired.certPem, expired.keyPem))).violations).toEqual([
      {
        field: 'conf.cert[0]',
        message: `certificate has expired: current time ${NOW_TEXT} is after 2021-01-01T00:00:00Z`,
      },
    ])
  })

  it('reports a chain that does not chain', async () => {
    const result = await validate(
      pemConf(intermediate.certPem + otherRoot.certPem, intermediate.keyPem)
    )
    expect(result.violations).toEqual([
      {
        field: 'conf.cert[0]',
        message:
          'certificate is not signed by the next certificate in the chain (cert[1]): its issuer "CN=Root A" is not the subject "CN=Root B" of cert[1]',
      },
    ])
  })

  it('reports a later certificate that does not parse', async () => {
    const garbage = encodePem('CERTIFICATE', utf8('test'))
    expect((await validate(pemConf(root.certPem + garbage, root.keyPem))).violations).toEqual([
      {
        field: 'conf.cert[1]',
        message: 'not a valid x509 certificate: x509: malformed certificate',
      },
    ])
  })
})

/** Signs a leaf with the loaded CA, for openssl to verify against a root-only trust store. */
async function issueLeaf(ca: LoadedCa): Promise<string> {
  const caKey = await importPrivateKey(crypto, parsePkcs8(ca.signing.privateKey))
  const leafKeys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])
  const leaf = await x509.X509CertificateGenerator.create(
    {
      serialNumber: '01',
      subject: 'CN=leaf',
      issuer: new x509.X509Certificate(ca.signing.certificate.slice()).subjectName,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3_600_000),
      publicKey: leafKeys.publicKey,
      signingKey: caKey,
      signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as Algorithm,
      extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
    },
    crypto
  )
  return leaf.toString('pem')
}

function opensslVerify(rootPem: string, untrusted: readonly Uint8Array[], leafPem: string): string {
  openssl.write('verify-root.pem', rootPem)
  openssl.write('verify-leaf.pem', leafPem)
  const args = ['verify', '-CAfile', 'verify-root.pem']
  if (untrusted.length > 0) {
    openssl.write(
      'verify-untrusted.pem',
      untrusted.map((d) => encodePem('CERTIFICATE', d)).join('')
    )
    args.push('-untrusted', 'verify-untrusted.pem')
  }
  try {
    return openssl.run([...args, 'verify-leaf.pem'])
  } catch (error) {
    return (error as Error).message
  }
}

describe('load', () => {
  it('loads a root: signs with it, bundles its certificates only, has no intermediates', async () => {
    // A combined cert+key file (the brief's one-Secret example) must not put the key in bundles.
    const certText = `# the CA of mesh default\n${root.certPem}\n${root.keyPem}`
    const secrets = secretsOf({ 'ca-cert': certText, 'ca-key': root.keyPem })
    const conf = { cert: { secret: 'ca-cert' }, key: { secret: 'ca-key' } }
    const loaded = await providedCaBackend.load(context(secrets), MESH, backend(conf))
    const [der] = certificatesFromPem(root.certPem)
    expect(loaded.backend).toBe('ca-1')
    expect(loaded.signing.certificate).toEqual(der)
    expect(loaded.intermediates).toEqual([])
    expect(loaded.trustBundlePem).toBe(encodePem('CERTIFICATE', der ?? new Uint8Array()))
    expect(loaded.trustBundlePem).not.toContain('PRIVATE KEY')
    expect(loaded.certificates).toEqual([der])
    expect(secrets.reads).toEqual(['ca-key', 'ca-cert'])
  })

  it('gives the signing material a stable id that changes with the key', async () => {
    const first = await providedCaBackend.load(
      context(),
      MESH,
      backend(pemConf(root.certPem, root.keyPem))
    )
    const again = await providedCaBackend.load(
      context(),
      MESH,
      backend(pemConf(root.certPem, openssl.pkcs1Key(root)))
    )
    const other = await providedCaBackend.load(
      context(),
      MESH,
      backend(pemConf(otherRoot.certPem, otherRoot.keyPem))
    )
    expect(first.signing.id).toMatch(/^[0-9a-f]{64}$/)
    expect(again.signing.id).toBe(first.signing.id)
    expect(other.signing.id).not.toBe(first.signing.id)
  })

  it('signs with the first certificate; intermediates run from it up to, not including, the root', async () => {
    const chain = subIntermediate.certPem + intermediate.certPem + root.certPem
    const loaded = await providedCaBackend.load(
      context(),
      MESH,
      backend(pemConf(chain, subIntermediate.keyPem))
    )
    const [issuingDer, intermediateDer, rootDer] = certificatesFromPem(chain)
    expect(loaded.signing.certificate).toEqual(issuingDer)
    expect(loaded.intermediates).toEqual([issuingDer, intermediateDer])
    expect(loaded.certificates).toEqual([issuingDer, intermediateDer, rootDer])
    expect(loaded.trustBundlePem).toBe(chain)

    // Decision 21 of docs/decisions.md: a verifier holding only the root accepts the leaf followed
    // by the intermediates…
    const leafPem = await issueLeaf(loaded)
    expect(opensslVerify(root.certPem, loaded.intermediates, leafPem)).toContain(
      'verify-leaf.pem: OK'
    )
    // …and needs every one of them.
    expect(opensslVerify(root.certPem, [issuingDer ?? new Uint8Array()], leafPem)).toContain(
      'unable to get local issuer certificate'
    )
    // Kuma's way also works: the whole file as the bundle, the leaf alone.
    expect(opensslVerify(loaded.trustBundlePem, [], leafPem)).toContain('verify-leaf.pem: OK')
  })

  it('loads the intermediate-first file with the intermediate as signer and only intermediate', async () => {
    const loaded = await providedCaBackend.load(
      context(),
      MESH,
      backend(pemConf(intermediate.certPem + root.certPem, intermediate.keyPem))
    )
    const [intermediateDer] = certificatesFromPem(intermediate.certPem)
    expect(loaded.signing.certificate).toEqual(intermediateDer)
    expect(loaded.intermediates).toEqual([intermediateDer])
  })

  it('fails like Kuma when a file is missing (golden)', async () => {
    const path = join(openssl.dir, 'invalid.key')
    const conf = { cert: { file: join(openssl.dir, 'invalid.pem') }, key: { file: path } }
    const error = await loadError(context(), backend(conf, 'provided-2'))
    expect(error.code).toBe('CA_UNAVAILABLE')
    expect(error.message).toBe(
      `failed to load CA key pair for Mesh "default" and backend "provided-2": could not load data: open ${path}: not a readable regular file of at most 262144 bytes`
    )
  })

  it('fails when a Secret is missing', async () => {
    const conf = { cert: { secret: 'ca-cert' }, key: { secret: 'ca-key' } }
    const error = await loadError(context(secretsOf({ 'ca-key': root.keyPem })), backend(conf))
    expect([error.code, error.message]).toEqual([
      'CA_UNAVAILABLE',
      'failed to load CA key pair for Mesh "default" and backend "ca-1": could not load data: Resource not found: type="Secret" name="ca-cert" mesh="default"',
    ])
  })

  it('never signs with a key that does not match (decision 10 of docs/decisions.md)', async () => {
    const error = await loadError(context(), backend(pemConf(root.certPem, otherRoot.keyPem)))
    expect([error.code, error.message]).toEqual([
      'CA_UNAVAILABLE',
      'failed to load CA key pair for Mesh "default" and backend "ca-1": cert: not a valid TLS key pair: tls: private key does not match public key',
    ])
  })

  it('never signs with a chain that does not chain (decision 10 of docs/decisions.md)', async () => {
    const error = await loadError(
      context(),
      backend(pemConf(intermediate.certPem + otherRoot.certPem, intermediate.keyPem))
    )
    expect(error.code).toBe('CA_UNAVAILABLE')
    expect(error.message).toMatch(
      /^failed to load CA key pair for Mesh "default" and backend "ca-1": cert\[0\]: certificate is not signed by the next certificate in the chain \(cert\[1\]\)/
    )
  })

  it('fails on a configuration that validation would reject', async () => {
    const error = await loadError(context(), backend())
    expect(error.message).toBe(
      'failed to load CA key pair for Mesh "default" and backend "ca-1": conf.cert: has to be defined; conf.key: has to be defined'
    )
    expect(
      isMeshcaError(await loadError(context(), backend({ cert: 'x' })), 'CA_UNAVAILABLE')
    ).toBe(true)
  })

  it('keeps the code of a store outage, with the context', async () => {
    const outage = new MeshcaError('STORE_UNAVAILABLE', 'connection refused')
    const secrets: SecretAccess = { ...secretsOf({}), get: () => Promise.reject(outage) }
    const conf = { cert: { secret: 'ca-cert' }, key: { secret: 'ca-key' } }
    const error = await loadError(context(secrets), backend(conf))
    expect([error.code, error.message]).toEqual([
      'STORE_UNAVAILABLE',
      'failed to load CA key pair for Mesh "default" and backend "ca-1": connection refused',
    ])
  })
})
