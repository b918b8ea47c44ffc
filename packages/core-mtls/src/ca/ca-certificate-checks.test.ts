import 'reflect-metadata'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { CA_EXTENSIONS, type OpensslCa, OpensslCaBuilder } from '@meshca/test-support/openssl'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXAMPLES_DIR } from '../../test/examples.ts'
import { isMeshcaError } from '../errors.ts'
import {
  CA_FLAG_NOT_SET,
  checkCaCertificates,
  checkChainLinks,
  KEY_AGREEMENT_SET,
  KEY_CERT_SIGN_NOT_SET,
  loadCaKeyPair,
  parseCaCertificates,
  readCaKeyPair,
  validateCaKeyPair,
} from './ca-certificate-checks.ts'
import { decodePem, encodePem } from './pem.ts'

const crypto = globalThis.crypto
// A day ahead, whole seconds: certificates made by openssl just now are valid then.
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000 + 86_400_000)
const NOW_TEXT = NOW.toISOString().replace('.000Z', 'Z')
/** A time inside the validity of the brief's intermediate-chain.pem (2021–2031). */
const EXAMPLE_TIME = new Date('2026-06-01T12:00:00Z')

// Kuma's messages, copied from ca_cert_validator.go rather than from the module under test.
const KUMA_CA =
  "basic constraint 'CA' must be set to 'true' (see X509-SVID: 4.1. Basic Constraints)"
const KUMA_KEY_CERT_SIGN =
  "key usage extension 'keyCertSign' must be set (see X509-SVID: 4.3. Key Usage)"
const KUMA_KEY_AGREEMENT =
  "key usage extension 'keyAgreement' must NOT be set (see X509-SVID: Appendix A. X.509 Field Reference)"
const LEAF_USAGES_WARNING =
  "key usage extensions 'digitalSignature' and 'keyEncipherment' should NOT be set (see X509-SVID: 4.3. Key Usage)"

let openssl: OpensslCaBuilder
let root: OpensslCa
let otherRoot: OpensslCa
let intermediate: OpensslCa
let ecRoot: OpensslCa

beforeAll(() => {
  openssl = new OpensslCaBuilder()
  root = openssl.root('Root A', { extensions: CA_EXTENSIONS })
  otherRoot = openssl.root('Root B', { extensions: CA_EXTENSIONS })
  intermediate = openssl.signed('Intermediate A', root, {
    extensions: [
      'basicConstraints=critical,CA:TRUE,pathlen:0',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
  })
  ecRoot = openssl.root('EC Root', { extensions: CA_EXTENSIONS, key: 'ec:P-256' })
})

afterAll(() => openssl.dispose())

function validate(certPem: string, keyPem: string, now = NOW) {
  return validateCaKeyPair(crypto, certPem, keyPem, now)
}

describe('Kuma message constants', () => {
  it('are Kuma’s literals', () => {
    expect(CA_FLAG_NOT_SET).toBe(KUMA_CA)
    expect(KEY_CERT_SIGN_NOT_SET).toBe(KUMA_KEY_CERT_SIGN)
    expect(KEY_AGREEMENT_SET).toBe(KUMA_KEY_AGREEMENT)
  })
})

describe('validateCaKeyPair: accepted CAs', () => {
  it('accepts a root made by openssl', async () => {
    expect(await validate(root.certPem, root.keyPem)).toEqual({ violations: [], warnings: [] })
  })

  it('accepts a PKCS#1 key, the encoding of Kuma’s fixtures', async () => {
    const pkcs1 = openssl.pkcs1Key(root)
    expect(pkcs1).toContain('-----BEGIN RSA PRIVATE KEY-----')
    expect(await validate(root.certPem, pkcs1)).toEqual({ violations: [], warnings: [] })
  })

  it('accepts an ECDSA P-256 root', async () => {
    expect(await validate(ecRoot.certPem, ecRoot.keyPem)).toEqual({ violations: [], warnings: [] })
  })

  it('accepts the product brief’s sample-ca-openssl.sh recipe', async () => {
    const dir = openssl.runScript(join(EXAMPLES_DIR, 'sample-ca-openssl.sh'))
    const certPem = readFileSync(join(dir, 'crt.pem'), 'utf8')
    const keyPem = readFileSync(join(dir, 'key.pem'), 'utf8')
    expect(await validate(certPem, keyPem)).toEqual({ violations: [], warnings: [] })
  })

  it('accepts intermediate then root, with the intermediate’s key', async () => {
    const chain = intermediate.certPem + root.certPem
    expect(await validate(chain, intermediate.keyPem)).toEqual({ violations: [], warnings: [] })
    const reading = await readCaKeyPair(crypto, chain, intermediate.keyPem)
    expect(reading.ok && reading.pair.certificates.map((c) => c.x509.subject)).toEqual([
      'CN=Intermediate A',
      'CN=Root A',
    ])
  })

  it('ignores text and other blocks around the certificates, as X509KeyPair does', async () => {
    const noisy = `# my CA\n${root.certPem}\n-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n`
    expect(await validate(noisy, root.keyPem)).toEqual({ violations: [], warnings: [] })
  })
})

describe('validateCaKeyPair: bounded work', () => {
  it('refuses a CA file of more certificates than any chain has, before parsing them', async () => {
    const many = `${intermediate.certPem}${root.certPem.repeat(16)}`
    expect(await validate(many, intermediate.keyPem)).toEqual({
      violations: [{ field: 'cert', message: 'a CA file holds at most 16 certificates, not 17' }],
      warnings: [],
    })
    expect(
      (await validate(`${intermediate.certPem}${root.certPem}`, intermediate.keyPem)).violations
    ).toEqual([])
  })
})

describe('validateCaKeyPair: Kuma’s per-certificate rules (docs/kuma-compatibility.md §4.3) at cert[i]', () => {
  it('reports a missing CA flag', async () => {
    const ca = openssl.root('No CA flag', { extensions: ['keyUsage=critical,keyCertSign,cRLSign'] })
    expect(await validate(ca.certPem, ca.keyPem)).toEqual({
      violations: [{ field: 'cert[0]', message: KUMA_CA }],
      warnings: [],
    })
  })

  it('reports CA:FALSE like a missing flag', async () => {
    const ca = openssl.root('CA false', {
      extensions: ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,keyCertSign'],
    })
    expect((await validate(ca.certPem, ca.keyPem)).violations).toEqual([
      { field: 'cert[0]', message: KUMA_CA },
    ])
  })

  it('reports a key usage without keyCertSign', async () => {
    const ca = openssl.root('No cert sign', {
      extensions: ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,cRLSign'],
    })
    expect(await validate(ca.certPem, ca.keyPem)).toEqual({
      violations: [{ field: 'cert[0]', message: KUMA_KEY_CERT_SIGN }],
      warnings: [],
    })
  })

  it('reports a certificate without any key usage extension as lacking keyCertSign', async () => {
    const ca = openssl.root('No key usage', { extensions: ['basicConstraints=critical,CA:TRUE'] })
    expect((await validate(ca.certPem, ca.keyPem)).violations).toEqual([
      { field: 'cert[0]', message: KUMA_KEY_CERT_SIGN },
    ])
  })

  it('reports keyAgreement', async () => {
    const ca = openssl.root('Key agreement', {
      extensions: [
        'basicConstraints=critical,CA:TRUE',
        'keyUsage=critical,keyCertSign,cRLSign,keyAgreement',
      ],
    })
    expect(await validate(ca.certPem, ca.keyPem)).toEqual({
      violations: [{ field: 'cert[0]', message: KUMA_KEY_AGREEMENT }],
      warnings: [],
    })
  })

  it('reports several violations on one certificate in Kuma’s order', async () => {
    const ca = openssl.root('Many', {
      extensions: [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyAgreement,keyEncipherment',
      ],
    })
    expect(await validate(ca.certPem, ca.keyPem)).toEqual({
      violations: [
        { field: 'cert[0]', message: KUMA_CA },
        { field: 'cert[0]', message: KUMA_KEY_CERT_SIGN },
        { field: 'cert[0]', message: KUMA_KEY_AGREEMENT },
      ],
      warnings: [{ field: 'cert[0]', message: LEAF_USAGES_WARNING }],
    })
  })

  it('only warns about digitalSignature and keyEncipherment (decision 5 of docs/decisions.md)', async () => {
    const ca = openssl.root('Leaf usages', {
      extensions: [
        'basicConstraints=critical,CA:TRUE',
        'keyUsage=critical,keyCertSign,cRLSign,digitalSignature,keyEncipherment',
      ],
    })
    expect(await validate(ca.certPem, ca.keyPem)).toEqual({
      violations: [],
      warnings: [{ field: 'cert[0]', message: LEAF_USAGES_WARNING }],
    })
  })

  it('names the one leaf usage that is set', async () => {
    const ca = openssl.root('Digital signature', {
      extensions: [
        'basicConstraints=critical,CA:TRUE',
        'keyUsage=critical,keyCertSign,digitalSignature',
      ],
    })
    expect((await validate(ca.certPem, ca.keyPem)).warnings).toEqual([
      {
        field: 'cert[0]',
        message:
          "key usage extension 'digitalSignature' should NOT be set (see X509-SVID: 4.3. Key Usage)",
      },
    ])
  })

  it('checks every certificate of the chain and indexes it', async () => {
    const weakIntermediate = openssl.signed('Weak intermediate', root, {
      extensions: [
        'basicConstraints=critical,CA:TRUE',
        'keyUsage=critical,cRLSign,digitalSignature',
      ],
    })
    const noFlagRoot = openssl.root('Flagless root', {
      extensions: ['keyUsage=critical,keyCertSign'],
    })
    const leafUnderFlagless = openssl.signed('Under flagless', noFlagRoot, {
      extensions: CA_EXTENSIONS,
    })
    expect(
      await validate(weakIntermediate.certPem + root.certPem, weakIntermediate.keyPem)
    ).toEqual({
      violations: [{ field: 'cert[0]', message: KUMA_KEY_CERT_SIGN }],
      warnings: [
        {
          field: 'cert[0]',
          message:
            "key usage extension 'digitalSignature' should NOT be set (see X509-SVID: 4.3. Key Usage)",
        },
      ],
    })
    expect(
      (await validate(leafUnderFlagless.certPem + noFlagRoot.certPem, leafUnderFlagless.keyPem))
        .violations
    ).toEqual([{ field: 'cert[1]', message: KUMA_CA }])
  })
})

describe('validateCaKeyPair: the key pair (X509KeyPair messages at cert)', () => {
  const keyPair = (reason: string) => ({
    violations: [{ field: 'cert', message: `not a valid TLS key pair: ${reason}` }],
    warnings: [],
  })

  it('reports an empty pair and plain text as no PEM data', async () => {
    const none = keyPair('tls: failed to find any PEM data in certificate input')
    expect(await validate('', '')).toEqual(none)
    expect(await validate('CERT', 'KEY')).toEqual(none)
    expect(await validate('test', root.keyPem)).toEqual(none)
  })

  it('reports PEM inputs that may have been switched', async () => {
    expect(await validate(root.keyPem, root.certPem)).toEqual(
      keyPair(
        'tls: failed to find certificate PEM data in certificate input, but did find a private key; PEM inputs may have been switched'
      )
    )
  })

  it('lists the blocks it skipped when there is no certificate', async () => {
    const blocks = `${encodePem('PUBLIC KEY', new Uint8Array([1, 2]))}${encodePem('X509 CRL', new Uint8Array([3]))}`
    expect(await validate(blocks, root.keyPem)).toEqual(
      keyPair(
        'tls: failed to find "CERTIFICATE" PEM block in certificate input after skipping PEM blocks of the following types: [PUBLIC KEY X509 CRL]'
      )
    )
  })

  it('reports a key that belongs to another certificate', async () => {
    expect(await validate(root.certPem, otherRoot.keyPem)).toEqual(
      keyPair('tls: private key does not match public key')
    )
  })

  it('checks the key against the first certificate only', async () => {
    expect(await validate(intermediate.certPem + root.certPem, root.keyPem)).toEqual(
      keyPair('tls: private key does not match public key')
    )
  })

  it('reports a key of another type than the certificate’s', async () => {
    expect(await validate(root.certPem, ecRoot.keyPem)).toEqual(
      keyPair('tls: private key type does not match public key type')
    )
  })

  it('reports key-side problems with Go’s messages', async () => {
    expect(await validate(root.certPem, '')).toEqual(
      keyPair('tls: failed to find any PEM data in key input')
    )
    expect(await validate(root.certPem, root.certPem)).toEqual(
      keyPair('tls: found a certificate rather than a key in the PEM for the private key')
    )
    const garbageKey = encodePem('PRIVATE KEY', new Uint8Array([1, 2, 3, 4]))
    expect(await validate(root.certPem, garbageKey)).toEqual(
      keyPair('tls: failed to parse private key')
    )
  })

  it('reports a first certificate that does not parse as a key pair error', async () => {
    const garbage = encodePem('CERTIFICATE', new TextEncoder().encode('test'))
    expect(await validate(garbage + root.certPem, root.keyPem)).toEqual(
      keyPair('x509: malformed certificate')
    )
  })

  it('parses the certificate before the key, as Go does', async () => {
    const garbage = encodePem('CERTIFICATE', new TextEncoder().encode('test'))
    const garbageKey = encodePem('PRIVATE KEY', new Uint8Array([1, 2, 3, 4]))
    expect(await validate(garbage, garbageKey)).toEqual(keyPair('x509: malformed certificate'))
  })
})

describe('validateCaKeyPair: decision 9 of docs/decisions.md', () => {
  it('reports a later certificate that does not parse at cert[i]', async () => {
    const garbage = encodePem('CERTIFICATE', new TextEncoder().encode('test'))
    expect(await validate(root.certPem + garbage, root.keyPem)).toEqual({
      violations: [
        { field: 'cert[1]', message: 'not a valid x509 certificate: x509: malformed certificate' },
      ],
      warnings: [],
    })
  })

  it('rejects trailing bytes after a certificate, as Go does', async () => {
    const [block] = decodePem(intermediate.certPem)
    if (!block) throw new Error('no block')
    const padded = new Uint8Array([...block.der, 0, 0])
    expect(
      (await validate(root.certPem + encodePem('CERTIFICATE', padded), root.keyPem)).violations
    ).toEqual([{ field: 'cert[1]', message: 'not a valid x509 certificate: x509: trailing data' }])
  })

  it('reports an expired CA made by `openssl ca` with past dates', async () => {
    const expired = openssl.root('Expired', {
      extensions: CA_EXTENSIONS,
      notBefore: '20200101000000Z',
      notAfter: '20210101000000Z',
    })
    expect(await validate(expired.certPem, expired.keyPem)).toEqual({
      violations: [
        {
          field: 'cert[0]',
          message: `certificate has expired: current time ${NOW_TEXT} is after 2021-01-01T00:00:00Z`,
        },
      ],
      warnings: [],
    })
  })

  it('reports a CA that is not valid yet', async () => {
    const future = openssl.root('Future', {
      extensions: CA_EXTENSIONS,
      notBefore: '20900101000000Z',
      notAfter: '20910101000000Z',
    })
    expect((await validate(future.certPem, future.keyPem)).violations).toEqual([
      {
        field: 'cert[0]',
        message: `certificate is not valid yet: current time ${NOW_TEXT} is before 2090-01-01T00:00:00Z`,
      },
    ])
  })

  it('uses the injected clock', async () => {
    const reading = await readCaKeyPair(crypto, root.certPem, root.keyPem)
    if (!reading.ok) throw new Error(reading.violation.message)
    const notAfter = reading.pair.certificates[0]?.notAfter ?? new Date(0)
    const later = new Date(notAfter.getTime() + 1000)
    const result = await validate(root.certPem, root.keyPem, later)
    expect(result.violations).toHaveLength(1)
    expect(result.violations[0]?.message).toMatch(/^certificate has expired: /)
    expect(await validate(root.certPem, root.keyPem, notAfter)).toEqual({
      violations: [],
      warnings: [],
    })
  })

  it('reports a chain whose next certificate has another subject than the issuer', async () => {
    expect(await validate(intermediate.certPem + otherRoot.certPem, intermediate.keyPem)).toEqual({
      violations: [
        {
          field: 'cert[0]',
          message:
            'certificate is not signed by the next certificate in the chain (cert[1]): its issuer "CN=Root A" is not the subject "CN=Root B" of cert[1]',
        },
      ],
      warnings: [],
    })
  })

  it('reports a chain whose next certificate has the right name but another key', async () => {
    const impostor = openssl.root('Root A', { extensions: CA_EXTENSIONS })
    expect(
      (await validate(intermediate.certPem + impostor.certPem, intermediate.keyPem)).violations
    ).toEqual([
      {
        field: 'cert[0]',
        message:
          'certificate is not signed by the next certificate in the chain (cert[1]): its signature does not verify with the public key of cert[1]',
      },
    ])
  })

  it('reports a chain in the wrong order (root first)', async () => {
    const result = await validate(root.certPem + intermediate.certPem, root.keyPem)
    expect(result.violations.map((v) => v.field)).toEqual(['cert[0]'])
    expect(result.violations[0]?.message).toMatch(
      /^certificate is not signed by the next certificate in the chain \(cert\[1\]\)/
    )
  })

  it('reports chain and validity problems before Kuma’s rules', async () => {
    const expiredFlagless = openssl.root('Old flagless', {
      extensions: ['keyUsage=critical,keyCertSign'],
      notBefore: '20200101000000Z',
      notAfter: '20210101000000Z',
    })
    const result = await validate(
      expiredFlagless.certPem + otherRoot.certPem,
      expiredFlagless.keyPem
    )
    expect(result.violations.map((v) => [v.field, v.message.slice(0, 30)])).toEqual([
      ['cert[0]', 'certificate is not signed by t'],
      ['cert[0]', 'certificate has expired: curre'],
      ['cert[0]', KUMA_CA.slice(0, 30)],
    ])
  })
})

describe('the brief’s intermediate-chain.pem (no key: cert-side checks only)', () => {
  const pem = readFileSync(join(EXAMPLES_DIR, 'intermediate-chain.pem'), 'utf8')

  it('parses into the intermediate then its root', () => {
    const reading = parseCaCertificates(pem)
    if (!reading.ok) throw new Error(reading.violation.message)
    expect(reading.certificates.map((c) => [c.x509.subject, c.x509.issuer])).toEqual([
      [
        'C=GB, ST=England, O=Alice Ltd, CN=KumaIntermediateCA',
        'C=GB, ST=England, O=Alice Ltd, CN=KumaCA',
      ],
      ['C=GB, ST=England, O=Alice Ltd, CN=KumaCA', 'C=GB, ST=England, O=Alice Ltd, CN=KumaCA'],
    ])
  })

  it('chains and meets the CA requirements', async () => {
    const reading = parseCaCertificates(pem)
    if (!reading.ok) throw new Error(reading.violation.message)
    expect(await checkChainLinks(crypto, reading.certificates)).toEqual([])
    expect(await checkCaCertificates(crypto, reading.certificates, EXAMPLE_TIME)).toEqual({
      violations: [],
      warnings: [],
    })
  })

  it('does not chain when reversed', async () => {
    const reading = parseCaCertificates(pem)
    if (!reading.ok) throw new Error(reading.violation.message)
    const reversed = [...reading.certificates].reverse()
    expect((await checkChainLinks(crypto, reversed)).map((v) => v.field)).toEqual(['cert[0]'])
  })

  it('expires with its intermediate in 2031', async () => {
    const reading = parseCaCertificates(pem)
    if (!reading.ok) throw new Error(reading.violation.message)
    const result = await checkCaCertificates(
      crypto,
      reading.certificates,
      new Date('2032-01-01T00:00:00Z')
    )
    expect(result.violations).toEqual([
      {
        field: 'cert[0]',
        message:
          'certificate has expired: current time 2032-01-01T00:00:00Z is after 2031-05-10T13:35:51Z',
      },
    ])
  })

  it('with a key that is not the intermediate’s, fails as a key pair', async () => {
    expect((await validate(pem, root.keyPem)).violations).toEqual([
      {
        field: 'cert',
        message: 'not a valid TLS key pair: tls: private key does not match public key',
      },
    ])
  })
})

describe('loadCaKeyPair (decision 10 of docs/decisions.md)', () => {
  it('returns the parsed pair of a good chain', async () => {
    const pair = await loadCaKeyPair(
      crypto,
      intermediate.certPem + root.certPem,
      intermediate.keyPem
    )
    expect(pair.certificates).toHaveLength(2)
    expect(pair.key.algorithm).toEqual({ family: 'RSA' })
  })

  it('refuses a key that does not match', async () => {
    const error = await loadCaKeyPair(crypto, root.certPem, otherRoot.keyPem).catch(
      (e: unknown) => e
    )
    expect(isMeshcaError(error, 'CA_UNAVAILABLE')).toBe(true)
    expect((error as Error).message).toBe(
      'cert: not a valid TLS key pair: tls: private key does not match public key'
    )
  })

  it('refuses a chain that does not chain', async () => {
    const error = await loadCaKeyPair(
      crypto,
      intermediate.certPem + otherRoot.certPem,
      intermediate.keyPem
    ).catch((e: unknown) => e)
    expect(isMeshcaError(error, 'CA_UNAVAILABLE')).toBe(true)
    expect((error as Error).message).toMatch(
      /^cert\[0\]: certificate is not signed by the next certificate in the chain \(cert\[1\]\)/
    )
  })

  it('still loads a CA that fails only Kuma’s rules or its validity (admission reports those)', async () => {
    const expired = openssl.root('Expired load', {
      extensions: ['keyUsage=critical,keyCertSign'],
      notBefore: '20200101000000Z',
      notAfter: '20210101000000Z',
    })
    await expect(loadCaKeyPair(crypto, expired.certPem, expired.keyPem)).resolves.toBeDefined()
  })
})
