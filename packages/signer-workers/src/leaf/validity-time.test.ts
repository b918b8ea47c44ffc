import { describe, expect, it } from 'vitest'
import { isEncodableTime, timeSize, writeTime } from './validity-time.ts'

function encode(iso: string): string {
  const ms = Date.parse(iso)
  const out = new Uint8Array(timeSize(ms))
  expect(writeTime(out, 0, ms)).toBe(out.length)
  return `${out[0]?.toString(16)}:${new TextDecoder().decode(out.subarray(2))}`
}

describe('validity time (RFC 5280 §4.1.2.5)', () => {
  it('uses UTCTime from 1950 to 2049 and GeneralizedTime outside', () => {
    expect(encode('1949-12-31T23:59:59Z')).toBe('18:19491231235959Z')
    expect(encode('1950-01-01T00:00:00Z')).toBe('17:500101000000Z')
    expect(encode('2049-12-31T23:59:59Z')).toBe('17:491231235959Z')
    expect(encode('2050-01-01T00:00:00Z')).toBe('18:20500101000000Z')
    expect(encode('9999-12-31T23:59:59Z')).toBe('18:99991231235959Z')
  })

  it('drops milliseconds instead of writing fractional seconds', () => {
    expect(encode('2026-03-04T05:06:07.999Z')).toBe('17:260304050607Z')
    expect(encode('2076-03-04T05:06:07.001Z')).toBe('18:20760304050607Z')
  })

  it('refuses instants a certificate cannot carry', () => {
    expect(isEncodableTime(Number.NaN)).toBe(false)
    expect(isEncodableTime(Date.parse('+010000-01-01T00:00:00Z'))).toBe(false)
    expect(isEncodableTime(Date.parse('0000-01-01T00:00:00Z'))).toBe(true)
    expect(() => writeTime(new Uint8Array(20), 0, Number.NaN)).toThrow(/between the years/)
  })
})
