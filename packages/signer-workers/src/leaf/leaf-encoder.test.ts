import { X509Certificate } from 'node:crypto'
import { authorityKeyId, leafExtensions } from '@meshca/core-mtls'
import { createTestCa } from '@meshca/core-mtls/testing'
import { describe, expect, it } from 'vitest'
import { fixedLeafExtensions } from '../ca-material.ts'
import { children, readElement } from '../der/der-reader.ts'
import { prepareCaTemplate } from './ca-template.ts'
import type { LeafKeyFamily } from './key-family.ts'
import { generateKeyPairDer } from './key-generation.ts'
import { encodeTbsCertificate, InvalidLeafError, type LeafFields } from './leaf-encoder.ts'

const ca = await createTestCa({ keyType: 'ECDSA_P256' })
const template = prepareCaTemplate(
  ca.signing.certificate,
  ca.signing.privateKey,
  await fixedLeafExtensions(ca.signing.certificate)
)
const spki = generateKeyPairDer('ECDSA_P256').spki

function fields(overrides: Partial<LeafFields> = {}): LeafFields {
  return {
    serialNumber: new Uint8Array([1]),
    notBefore: Date.parse('2026-01-01T00:00:00Z'),
    notAfter: Date.parse('2026-02-01T00:00:00Z'),
    uris: [new TextEncoder().encode('spiffe://default/web')],
    spki,
    family: 'EC',
    ...overrides,
  }
}

/** The INTEGER content written, checked against what node:crypto reads back from it. */
function serialOf(serialNumber: number[]): string {
  const tbs = encodeTbsCertificate(template, fields({ serialNumber: new Uint8Array(serialNumber) }))
  // SEQUENCE header (2 or 3 bytes), then [0] version (5 bytes), then the INTEGER.
  const at = (tbs[1] ?? 0) & 0x80 ? 2 + ((tbs[1] ?? 0) & 0x7f) + 5 : 2 + 5
  expect(tbs[at]).toBe(0x02)
  const content = Buffer.from(tbs.subarray(at + 2, at + 2 + (tbs[at + 1] ?? 0))).toString('hex')
  const der = Buffer.concat([
    Buffer.from([0x30, 0x82, 0, 0]),
    tbs,
    template.signatureAlgorithm,
    Buffer.from([0x03, 0x03, 0x00, 0x30, 0x00]),
  ])
  der.writeUInt16BE(der.length - 4, 2)
  // node prints the value without the sign byte.
  expect(new X509Certificate(der).serialNumber).toBe(content.replace(/^00/, '').toUpperCase())
  return content
}

function failure(overrides: Partial<LeafFields>): InvalidLeafError {
  try {
    encodeTbsCertificate(template, fields(overrides))
  } catch (error) {
    if (error instanceof InvalidLeafError) return error
    throw error
  }
  throw new Error('expected a failure')
}

describe('leaf TBSCertificate encoding', () => {
  it('writes serials as minimal positive DER INTEGERs', () => {
    expect(serialOf([0x01, 0x02])).toBe('0102')
    expect(serialOf([0x00, 0x00, 0x7f])).toBe('7f')
    expect(serialOf([0x80, 0x01])).toBe('008001')
    expect(serialOf([0x00, 0xff])).toBe('00ff')
    expect(serialOf(Array.from({ length: 20 }, () => 0xab))).toBe(`00${'ab'.repeat(20)}`)
  })

  it('refuses serials that are empty, longer than 20 bytes, or zero', () => {
    expect(failure({ serialNumber: new Uint8Array(0) }).path).toBe('serialNumber')
    expect(failure({ serialNumber: new Uint8Array(21).fill(1) }).path).toBe('serialNumber')
    expect(failure({ serialNumber: new Uint8Array(3) }).message).toMatch(/positive/)
  })

  it('refuses URIs that are not ASCII, as Go does for an IA5String', () => {
    const error = failure({
      uris: [
        new TextEncoder().encode('spiffe://a/b'),
        new TextEncoder().encode('kuma://zone/zürich'),
      ],
    })
    expect(error.path).toBe('uris[1]')
  })

  it('refuses validity dates beyond the year 9999', () => {
    expect(failure({ notAfter: Date.parse('+010000-01-01T00:00:00Z') }).path).toBe('notAfter')
    expect(failure({ notBefore: Number.NaN }).path).toBe('notBefore')
  })

  it('writes the extensions, the SAN among them, exactly as the leaf profile of core', async () => {
    const akid = await authorityKeyId(ca.certificate, globalThis.crypto)
    const uriSets = [
      [],
      ['spiffe://default/web'],
      ['spiffe://default/web', 'kuma://kuma.io/zone/east', `spiffe://default/${'a'.repeat(120)}`],
      // Over 64 KiB of SAN: DER lengths of three bytes.
      Array.from({ length: 300 }, (_, i) => `spiffe://default/${'s'.repeat(240)}-${i}`),
    ]
    for (const family of ['RSA', 'EC', 'Ed25519'] as const satisfies readonly LeafKeyFamily[]) {
      for (const uris of uriSets) {
        const tbs = encodeTbsCertificate(
          template,
          fields({ family, uris: uris.map((uri) => new TextEncoder().encode(uri)) })
        )
        // The TBSCertificate ends with [3] EXPLICIT Extensions: compare what that SEQUENCE holds.
        const explicit = children(tbs, readElement(tbs, 0)).at(-1)
        const list = explicit && readElement(tbs, explicit.contentStart, explicit.end)
        const written = Buffer.from(tbs.subarray(list?.contentStart, list?.end)).toString('hex')
        const expected = leafExtensions({ family, uris, authorityKeyId: akid })
          .map((extension) => Buffer.from(extension.rawData).toString('hex'))
          .join('')
        expect(written, `${family}, ${uris.length} URIs`).toBe(expected)
      }
    }
  })

  it('leaves out the SAN extension when there is no URI', () => {
    const withSan = encodeTbsCertificate(template, fields()).length
    const without = encodeTbsCertificate(template, fields({ uris: [] })).length
    expect(withSan - without).toBeGreaterThan(20)
  })
})
