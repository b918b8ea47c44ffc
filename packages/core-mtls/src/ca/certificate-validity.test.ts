import '../polyfill.ts'
import { openssl } from '@meshca/test-support/openssl'
import * as x509 from '@peculiar/x509'
import { describe, expect, it } from 'vitest'
import { toArrayBuffer } from '../util/bytes.ts'
import { checkValidityPeriods, parseCaCertificate } from './ca-certificate-checks.ts'
import { chainValidity } from './ca-validity.ts'
import { certificateValidity } from './certificate-validity.ts'

function utc(year: number, month: number, day: number): Date {
  const date = new Date(Date.UTC(2000, month - 1, day))
  date.setUTCFullYear(year, month - 1, day)
  return date
}

async function selfSigned(notBefore: Date, notAfter: Date): Promise<Uint8Array> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
  const keys = (await crypto.subtle.generateKey(algorithm, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: '01',
      name: 'CN=times',
      notBefore,
      notAfter,
      keys,
      signingAlgorithm: algorithm,
    },
    crypto
  )
  return new Uint8Array(cert.rawData)
}

/** What openssl reads from the same bytes: the independent reading of the encoded years. */
function opensslDates(der: Uint8Array): string {
  const pem = new x509.X509Certificate(toArrayBuffer(der)).toString('pem')
  return openssl(['x509', '-noout', '-dates', '-in', 'c.pem'], { 'c.pem': pem }).output
}

/** `der` with every GeneralizedTime year `from` written as `to` (same length; the signature breaks). */
function withYear(der: Uint8Array, from: string, to: string): Uint8Array {
  const text = Buffer.from(der).toString('latin1').replaceAll(`${from}0`, `${to}0`)
  return new Uint8Array(Buffer.from(text, 'latin1'))
}

describe('certificateValidity', () => {
  it('reads a GeneralizedTime in year 1 as year 1, not 1901', async () => {
    // A year the encoder cannot write: a year past 2049 (GeneralizedTime), rewritten in the bytes.
    const der = withYear(await selfSigned(utc(2051, 1, 1), utc(2051, 6, 1)), '2051', '0001')
    expect(opensslDates(der)).toContain('notAfter=Jun  1 00:00:00 1 GMT')
    const { notBefore, notAfter } = certificateValidity(der)
    expect([notBefore.toISOString(), notAfter.toISOString()]).toEqual([
      '0001-01-01T00:00:00.000Z',
      '0001-06-01T00:00:00.000Z',
    ])
    expect(chainValidity([der]).notAfter.getUTCFullYear()).toBe(1)
    const [expired] = checkValidityPeriods(
      [parseCaCertificate(der)],
      new Date('2026-01-01T00:00:00Z')
    )
    expect(expired?.message).toBe(
      'certificate has expired: current time 2026-01-01T00:00:00Z is after 0001-06-01T00:00:00Z'
    )
  })

  it('reads UTCTime around its century boundary and GeneralizedTime past 2049', async () => {
    for (const [from, to] of [
      [utc(1999, 12, 31), utc(2049, 12, 31)],
      [utc(1950, 1, 1), utc(2050, 1, 1)],
      [utc(2026, 3, 4), utc(9999, 12, 31)],
    ] as const) {
      const der = await selfSigned(from, to)
      const read = certificateValidity(der)
      expect([read.notBefore.toISOString(), read.notAfter.toISOString()]).toEqual([
        from.toISOString(),
        to.toISOString(),
      ])
    }
  })

  it('refuses what is not a certificate', () => {
    expect(() => certificateValidity(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]))).toThrow()
    expect(() =>
      certificateValidity(new Uint8Array([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]))
    ).toThrow()
  })
})
