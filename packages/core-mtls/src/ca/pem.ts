import { fromBase64, toBase64 } from '../util/bytes.ts'

export interface PemBlock {
  /** The label between `BEGIN ` and the dashes, e.g. `CERTIFICATE`, `RSA PRIVATE KEY`. */
  readonly label: string
  readonly der: Uint8Array
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g

/**
 * Every well-formed PEM block of the text, in order. Text around blocks is ignored, as Go's
 * `pem.Decode` does; a block whose body is not base64 is skipped (and so reported as missing).
 */
export function decodePem(text: string): PemBlock[] {
  const blocks: PemBlock[] = []
  for (const match of text.matchAll(BLOCK)) {
    const label = match[1] ?? ''
    // Headers such as `Proc-Type:` (encrypted legacy keys) make the body non-base64: skip them.
    const der = fromBase64(match[2] ?? '')
    if (der !== undefined && der.length > 0) blocks.push({ label, der })
  }
  return blocks
}

export function encodePem(label: string, der: Uint8Array): string {
  const body = toBase64(der)
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '')
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`
}

export function certificatesFromPem(text: string): Uint8Array[] {
  return decodePem(text)
    .filter((b) => b.label === 'CERTIFICATE')
    .map((b) => b.der)
}
