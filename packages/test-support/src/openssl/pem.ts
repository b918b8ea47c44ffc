/** PEM text: wrapping DER, splitting bundles, the base64 of a text. */

export function toPem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64')
  return `-----BEGIN ${label}-----\n${base64.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END ${label}-----\n`
}

/** The certificates of a PEM bundle, in order, each with its trailing newline. */
export function certificatesIn(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g) ?? []
}

export function base64(text: string): string {
  return Buffer.from(text).toString('base64')
}
