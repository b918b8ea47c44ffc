import { concatBytes, toArrayBuffer, toHex } from '../util/bytes.ts'

/**
 * A stable identifier of CA material: SHA-256 over the certificate and the key. Workers cache
 * imported CAs under it, so a changed key under the same certificate must change the id.
 */
export async function signingCaId(
  crypto: Crypto,
  certificate: Uint8Array,
  privateKey: Uint8Array
): Promise<string> {
  const length = new Uint8Array(4)
  new DataView(length.buffer).setUint32(0, certificate.length)
  const digest = await crypto.subtle.digest(
    'SHA-256',
    toArrayBuffer(concatBytes([length, certificate, privateKey]))
  )
  return toHex(new Uint8Array(digest))
}
