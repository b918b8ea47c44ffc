import { generateKeyPairSync } from 'node:crypto'
import { createTestCa } from '@meshca/core-mtls/testing'
import { describe, expect, it } from 'vitest'
import { fixedLeafExtensions } from '../ca-material.ts'
import { CaMaterialError, prepareCaTemplate } from './ca-template.ts'

const ca = await createTestCa({ keyType: 'ECDSA_P256' })
const fixed = await fixedLeafExtensions(ca.signing.certificate)

describe('CA template', () => {
  it('copies the CA subject as the leaf issuer and takes the AKID from its SKID', () => {
    const template = prepareCaTemplate(ca.signing.certificate, ca.signing.privateKey, fixed)
    expect(
      Buffer.from(template.issuer).equals(Buffer.from(ca.certificate.subjectName.toArrayBuffer()))
    ).toBe(true)
    const skid = Buffer.from(ca.certificate.getExtension('2.5.29.14')?.value ?? new ArrayBuffer(0))
    // The SKID extension value is an OCTET STRING holding the key id: its content ends the AKID.
    expect(Buffer.from(template.fixedExtensions.EC).toString('hex')).toContain(
      skid.subarray(2).toString('hex')
    )
  })

  it('refuses a private key that does not belong to the certificate', () => {
    const other = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      publicKeyEncoding: { type: 'spki', format: 'der' },
      privateKeyEncoding: { type: 'pkcs8', format: 'der' },
    }).privateKey
    expect(() => prepareCaTemplate(ca.signing.certificate, other, fixed)).toThrow(CaMaterialError)
  })

  it('refuses unreadable material without quoting it', () => {
    expect(() =>
      prepareCaTemplate(new Uint8Array([0x30, 0x00]), ca.signing.privateKey, fixed)
    ).toThrow(/could not read CA certificate/)
    expect(() =>
      prepareCaTemplate(ca.signing.certificate, new Uint8Array([0x30, 0x00]), fixed)
    ).toThrow('could not read CA private key')
    // Core could not read the certificate, so there are no fixed extensions to sign with.
    expect(() =>
      prepareCaTemplate(ca.signing.certificate, ca.signing.privateKey, undefined)
    ).toThrow(CaMaterialError)
  })

  it('refuses CA keys on curves the leaf profile does not sign with', () => {
    const key = generateKeyPairSync('ec', {
      namedCurve: 'secp256k1',
      publicKeyEncoding: { type: 'spki', format: 'der' },
      privateKeyEncoding: { type: 'pkcs8', format: 'der' },
    }).privateKey
    expect(() => prepareCaTemplate(ca.signing.certificate, key, fixed)).toThrow(
      /unsupported CA curve/
    )
  })
})
