/** Independent DER walking for assertions: the SubjectPublicKeyInfo of a certificate. */

function header(der: Uint8Array, offset: number): { content: number; end: number } {
  const first = der[offset + 1] ?? 0
  if (first < 0x80) return { content: offset + 2, end: offset + 2 + first }
  const size = first & 0x7f
  let length = 0
  for (let i = 0; i < size; i++) length = length * 256 + (der[offset + 2 + i] ?? 0)
  return { content: offset + 2 + size, end: offset + 2 + size + length }
}

/** The bytes of the n-th element of the TBSCertificate (0 = version when present). */
function tbsElement(der: Uint8Array, index: number): Uint8Array {
  const tbs = header(der, header(der, 0).content)
  let offset = tbs.content
  for (let i = 0; i < index; i++) offset = header(der, offset).end
  return der.subarray(offset, header(der, offset).end)
}

export function certificateSpki(der: Uint8Array): Uint8Array {
  // version, serial, signature, issuer, validity, subject, subjectPublicKeyInfo
  return tbsElement(der, 6)
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}
