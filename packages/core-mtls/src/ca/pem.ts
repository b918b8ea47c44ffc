import { fromBase64, toBase64 } from '../util/bytes.ts'

export interface PemBlock {
  /** The label between `BEGIN ` and the dashes, e.g. `CERTIFICATE`, `RSA PRIVATE KEY`. */
  readonly label: string
  readonly der: Uint8Array
}

const BEGIN = '-----BEGIN '
const DASHES = '-----'
const END = '-----END '
const LABEL = /^[A-Z0-9 ]+$/

/**
 * Every well-formed PEM block of the text, in order. Text around blocks is ignored, as Go's
 * `pem.Decode` does; a block whose body is not base64 is skipped (and so reported as missing).
 * Linear in the text: it may come from a data plane (a CSR), so no backtracking regex.
 */
export function decodePem(text: string): PemBlock[] {
  const blocks: PemBlock[] = []
  // Like Go, a block ends at the first END line after its BEGIN; that position is shared by every
  // BEGIN before it, so it is looked up once per END rather than once per BEGIN.
  let nextEnd = -1
  let at = text.indexOf(BEGIN)
  while (at !== -1) {
    const labelStart = at + BEGIN.length
    const labelEnd = text.indexOf(DASHES, labelStart)
    if (labelEnd === -1) break
    const bodyStart = labelEnd + DASHES.length
    if (nextEnd < bodyStart) nextEnd = text.indexOf(END, bodyStart)
    if (nextEnd === -1) break
    const label = text.slice(labelStart, labelEnd)
    const closing = `${END}${label}${DASHES}`
    if (LABEL.test(label) && text.startsWith(closing, nextEnd)) {
      // Headers such as `Proc-Type:` (encrypted legacy keys) make the body non-base64: skip them.
      const der = fromBase64(text.slice(bodyStart, nextEnd))
      if (der !== undefined && der.length > 0) blocks.push({ label, der })
      at = text.indexOf(BEGIN, nextEnd + closing.length)
    } else {
      at = text.indexOf(BEGIN, bodyStart)
    }
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
