import { derLengthSize, writeDerLength } from '../der/der-writer.ts'
import type { CaTemplate } from './ca-template.ts'
import type { LeafKeyFamily } from './key-family.ts'
import { isEncodableTime, timeSize, writeTime } from './validity-time.ts'

/** The variable part of a data plane leaf; everything else comes from the CA template. */
export interface LeafFields {
  readonly serialNumber: Uint8Array
  readonly notBefore: number
  readonly notAfter: number
  /** URI SANs as IA5String bytes (ASCII). */
  readonly uris: readonly Uint8Array[]
  readonly spki: Uint8Array
  readonly family: LeafKeyFamily
}

export class InvalidLeafError extends Error {
  override readonly name = 'InvalidLeafError'
  readonly path: string
  constructor(message: string, path: string) {
    super(message)
    this.path = path
  }
}

// [0] EXPLICIT Version v3, then the empty subject: neither ever changes.
const VERSION_V3 = new Uint8Array([0xa0, 0x03, 0x02, 0x01, 0x02])
const EMPTY_NAME = new Uint8Array([0x30, 0x00])
// extnID subjectAltName, critical: the subject is empty, so RFC 5280 §4.2.1.6 requires it. Written
// per leaf, so not copied from core's profile: the unit test compares it with `leafExtensions`.
const SAN_HEADER = new Uint8Array([0x06, 0x03, 0x55, 0x1d, 0x11, 0x01, 0x01, 0xff])

function tlvSize(contentLength: number): number {
  return 1 + derLengthSize(contentLength) + contentLength
}

let scratch = new Uint8Array(16 * 1024)

function scratchOf(size: number): Uint8Array {
  if (scratch.length < size) scratch = new Uint8Array(Math.max(size, scratch.length * 2))
  return scratch
}

/** Where the serial's content starts, and whether DER needs a 0x00 in front of it. */
function serialLayout(serial: Uint8Array): { start: number; pad: boolean } {
  if (serial.length === 0 || serial.length > 20) {
    throw new InvalidLeafError('serial number must be 1 to 20 bytes', 'serialNumber')
  }
  let start = 0
  // DER INTEGERs are minimal: leading zero bytes go, a leading 1 bit gets a 0x00 (positive).
  while (start < serial.length - 1 && serial[start] === 0) start++
  if (serial[start] === 0) {
    // @peculiar/x509 would silently replace a zero serial with a random one; refuse it instead.
    throw new InvalidLeafError('serial number must be positive', 'serialNumber')
  }
  return { start, pad: ((serial[start] ?? 0) & 0x80) !== 0 }
}

/**
 * Encodes the TBSCertificate into a scratch buffer and returns a view of it, valid until the next
 * call. Sizes are computed first so that every byte is written once, in order.
 */
export function encodeTbsCertificate(ca: CaTemplate, leaf: LeafFields): Uint8Array {
  const { start: serialStart, pad } = serialLayout(leaf.serialNumber)
  if (!isEncodableTime(leaf.notBefore)) {
    throw new InvalidLeafError('notBefore must lie between the years 0 and 9999', 'notBefore')
  }
  if (!isEncodableTime(leaf.notAfter)) {
    throw new InvalidLeafError('notAfter must lie between the years 0 and 9999', 'notAfter')
  }
  const serialContent = leaf.serialNumber.length - serialStart + (pad ? 1 : 0)
  const validityContent = timeSize(leaf.notBefore) + timeSize(leaf.notAfter)

  let sanListContent = 0
  for (let i = 0; i < leaf.uris.length; i++) {
    const uri = leaf.uris[i] as Uint8Array
    for (let j = 0; j < uri.length; j++) {
      if ((uri[j] as number) > 0x7f) {
        // Go refuses these as well: an IA5String holds ASCII only.
        throw new InvalidLeafError('URI SANs must be ASCII (IA5String)', `uris[${i}]`)
      }
    }
    sanListContent += tlvSize(uri.length)
  }
  const sanList = tlvSize(sanListContent)
  const sanExtension = leaf.uris.length > 0 ? tlvSize(SAN_HEADER.length + tlvSize(sanList)) : 0
  const fixedExtensions = ca.fixedExtensions[leaf.family]
  const extensionList = tlvSize(fixedExtensions.length + sanExtension)

  const tbsContent =
    VERSION_V3.length +
    tlvSize(serialContent) +
    ca.signatureAlgorithm.length +
    ca.issuer.length +
    tlvSize(validityContent) +
    EMPTY_NAME.length +
    leaf.spki.length +
    tlvSize(extensionList)
  const total = tlvSize(tbsContent)
  const out = scratchOf(total)

  out[0] = 0x30
  let o = writeDerLength(out, 1, tbsContent)
  out.set(VERSION_V3, o)
  o += VERSION_V3.length
  out[o++] = 0x02
  out[o++] = serialContent
  if (pad) out[o++] = 0
  out.set(leaf.serialNumber.subarray(serialStart), o)
  o += leaf.serialNumber.length - serialStart
  out.set(ca.signatureAlgorithm, o)
  o += ca.signatureAlgorithm.length
  out.set(ca.issuer, o)
  o += ca.issuer.length
  out[o++] = 0x30
  out[o++] = validityContent
  o = writeTime(out, o, leaf.notBefore)
  o = writeTime(out, o, leaf.notAfter)
  out.set(EMPTY_NAME, o)
  o += EMPTY_NAME.length
  out.set(leaf.spki, o)
  o += leaf.spki.length
  out[o++] = 0xa3
  o = writeDerLength(out, o, extensionList)
  out[o++] = 0x30
  o = writeDerLength(out, o, fixedExtensions.length + sanExtension)
  out.set(fixedExtensions, o)
  o += fixedExtensions.length
  if (leaf.uris.length > 0) {
    out[o++] = 0x30
    o = writeDerLength(out, o, SAN_HEADER.length + tlvSize(sanList))
    out.set(SAN_HEADER, o)
    o += SAN_HEADER.length
    out[o++] = 0x04
    o = writeDerLength(out, o, sanList)
    out[o++] = 0x30
    o = writeDerLength(out, o, sanListContent)
    for (const uri of leaf.uris) {
      // [6] IMPLICIT IA5String: uniformResourceIdentifier.
      out[o++] = 0x86
      o = writeDerLength(out, o, uri.length)
      out.set(uri, o)
      o += uri.length
    }
  }
  if (o !== total) throw new Error(`TBSCertificate size mismatch: wrote ${o} of ${total}`)
  return out.subarray(0, total)
}

/** Size of the Certificate that wraps a TBSCertificate and a signature. */
export function certificateSize(
  ca: CaTemplate,
  tbsLength: number,
  signatureLength: number
): number {
  return tlvSize(tbsLength + ca.signatureAlgorithm.length + tlvSize(signatureLength + 1))
}

/** Writes `Certificate ::= SEQUENCE { tbs, signatureAlgorithm, BIT STRING signature }` at `offset`. */
export function writeCertificate(
  target: Uint8Array,
  offset: number,
  ca: CaTemplate,
  tbs: Uint8Array,
  signature: Uint8Array
): number {
  const bitString = tlvSize(signature.length + 1)
  target[offset] = 0x30
  let o = writeDerLength(target, offset + 1, tbs.length + ca.signatureAlgorithm.length + bitString)
  target.set(tbs, o)
  o += tbs.length
  target.set(ca.signatureAlgorithm, o)
  o += ca.signatureAlgorithm.length
  target[o++] = 0x03
  o = writeDerLength(target, o, signature.length + 1)
  target[o++] = 0
  target.set(signature, o)
  return o + signature.length
}
