/**
 * A certificate's validity period read from its DER. The ASN.1 library builds its Dates with
 * `Date.UTC(year, …)`, which maps the years 0–99 to 1900–1999: a GeneralizedTime in year 1 became
 * 1901 in messages. RFC 5280 times are read here instead: UTCTime (YYMMDDHHMMSSZ, 50–99 → 19xx)
 * and GeneralizedTime (YYYYMMDDHHMMSS[.f]Z).
 */

export interface Validity {
  readonly notBefore: Date
  readonly notAfter: Date
}

const SEQUENCE = 0x30
const UTC_TIME = 0x17
const GENERALIZED_TIME = 0x18
const VERSION_TAG = 0xa0

interface Tlv {
  readonly tag: number
  /** Offset of the contents. */
  readonly start: number
  /** Offset just past the contents. */
  readonly end: number
}

function readTlv(der: Uint8Array, offset: number): Tlv {
  const tag = der[offset]
  let length = der[offset + 1]
  if (tag === undefined || length === undefined) throw new Error('truncated DER')
  let start = offset + 2
  if (length >= 0x80) {
    const count = length & 0x7f
    if (count === 0 || count > 4) throw new Error('unsupported DER length')
    length = 0
    for (let i = 0; i < count; i++) length = length * 256 + (der[start + i] ?? 0)
    start += count
  }
  const end = start + length
  if (end > der.length) throw new Error('truncated DER')
  return { tag, start, end }
}

function parseTime(der: Uint8Array, tlv: Tlv): Date {
  const text = String.fromCharCode(...der.subarray(tlv.start, tlv.end))
  const match =
    tlv.tag === UTC_TIME
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
      : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/.exec(text)
  if (tlv.tag !== UTC_TIME && tlv.tag !== GENERALIZED_TIME) throw new Error('not a time')
  if (!match) throw new Error(`malformed time ${JSON.stringify(text)}`)
  const [, y = '', mo = '', d = '', h = '', mi = '', s = ''] = match
  const twoDigits = Number(y)
  const year = tlv.tag === UTC_TIME ? (twoDigits >= 50 ? 1900 : 2000) + twoDigits : Number(y)
  const date = new Date(Date.UTC(2000, Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)))
  date.setUTCFullYear(year, Number(mo) - 1, Number(d))
  return date
}

/** The validity of an X.509 certificate (DER); throws when the structure is not one. */
export function certificateValidity(der: Uint8Array): Validity {
  const certificate = readTlv(der, 0)
  const tbs = readTlv(der, certificate.start)
  if (certificate.tag !== SEQUENCE || tbs.tag !== SEQUENCE) throw new Error('not a certificate')
  let field = readTlv(der, tbs.start)
  if (field.tag === VERSION_TAG) field = readTlv(der, field.end)
  // serialNumber, signature, issuer, then validity.
  for (let skip = 0; skip < 3; skip++) field = readTlv(der, field.end)
  if (field.tag !== SEQUENCE) throw new Error('no validity')
  const notBefore = readTlv(der, field.start)
  const notAfter = readTlv(der, notBefore.end)
  return { notBefore: parseTime(der, notBefore), notAfter: parseTime(der, notAfter) }
}
