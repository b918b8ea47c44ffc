import { createHash, X509Certificate } from 'node:crypto'
import { certificatesFromPem } from '@meshca/core-mtls'
import { createTestCa } from '@meshca/core-mtls/testing'
import { certificateText, selfSignedCa } from '@meshca/test-support/openssl'
import { describe, expect, it } from 'vitest'
import { caMaterial, FixedExtensionsCache, fixedLeafExtensions } from './ca-material.ts'
import { children, readElement } from './der/der-reader.ts'

const hex = (bytes: Uint8Array | ArrayBuffer) => Buffer.from(new Uint8Array(bytes)).toString('hex')

// The leaf profile as it has been issued so far: a change to core's profile must show up here.
const KEY_USAGE_RSA = '300e0603551d0f0101ff0404030203a8'
const KEY_USAGE_EC = '300e0603551d0f0101ff040403020388'
const EXTENDED_KEY_USAGE = '301d0603551d250416301406082b0601050507030106082b06010505070302'
const BASIC_CONSTRAINTS = '300c0603551d130101ff04023000'
const AKID_PREFIX = '301f0603551d23041830168014'

const ca = await createTestCa({ keyType: 'ECDSA_P256' })

describe('fixed leaf extensions derived from core', () => {
  it('encode the known leaf profile, with the CA SKID as the AKID', async () => {
    const skid = hex(ca.certificate.getExtension('2.5.29.14')?.value ?? new ArrayBuffer(0))
    // The SKID extension value is an OCTET STRING (04 14) holding the 20-byte key id.
    const akid = `${AKID_PREFIX}${skid.slice(4)}`
    const fixed = await fixedLeafExtensions(ca.signing.certificate)
    expect(hex(fixed.RSA)).toBe(KEY_USAGE_RSA + EXTENDED_KEY_USAGE + BASIC_CONSTRAINTS + akid)
    expect(hex(fixed.EC)).toBe(KEY_USAGE_EC + EXTENDED_KEY_USAGE + BASIC_CONSTRAINTS + akid)
    expect(hex(fixed.Ed25519)).toBe(hex(fixed.EC))
  })

  it('take the AKID of a CA without SKID from the SHA-1 of its public key bits', async () => {
    const pem = selfSignedCa(
      '/CN=no SKID',
      ['basicConstraints = critical,CA:TRUE', 'subjectKeyIdentifier = none'],
      { key: 'ec:P-256' }
    )
    // Without this, a hash SKID would hold the same SHA-1 and the test could not tell them apart.
    expect(certificateText(pem.certPem)).not.toContain('Subject Key Identifier')
    const certificate = certificatesFromPem(pem.certPem)[0] as Uint8Array
    const spki = new Uint8Array(
      new X509Certificate(certificate).publicKey.export({ type: 'spki', format: 'der' })
    )
    const bitString = children(spki, readElement(spki, 0))[1]
    // RFC 5280 §4.2.1.2 (1): the BIT STRING's contents without its unused-bits byte.
    const keyBits = spki.subarray((bitString?.contentStart ?? 0) + 1, bitString?.end)
    const keyId = createHash('sha1').update(keyBits).digest('hex')
    const fixed = await fixedLeafExtensions(certificate)
    expect(hex(fixed.EC).endsWith(`${AKID_PREFIX}${keyId}`)).toBe(true)
  })

  it('are derived once per CA, and are absent for a certificate core cannot read', async () => {
    const cache = new FixedExtensionsCache()
    expect(cache.of(ca.signing)).toBe(cache.of(ca.signing))
    const broken = { ...ca.signing, id: 'broken', certificate: new Uint8Array([0x30, 0x00]) }
    expect(await cache.of(broken)).toBeUndefined()
  })

  it('cross with the CA material as copies', async () => {
    const fixed = await fixedLeafExtensions(ca.signing.certificate)
    const material = caMaterial(ca.signing, fixed)
    expect(hex(material.certificate)).toBe(hex(ca.signing.certificate))
    expect(hex(material.fixedExtensions?.RSA ?? new ArrayBuffer(0))).toBe(hex(fixed.RSA))
    expect(material.fixedExtensions?.EC).not.toBe(fixed.EC.buffer)
    expect(caMaterial(ca.signing, undefined).fixedExtensions).toBeUndefined()
  })
})
