import type { LoadedCa } from '../ca/ca-backend.ts'
import { certificatesFromPem } from '../ca/pem.ts'
import { toHex } from '../util/bytes.ts'

/**
 * The trust bundle of a mesh: the CA certificates of every backend (decision 3), so that a data
 * plane keeps trusting peers signed by the old backend while the mesh switches to a new one. Each
 * backend contributes its whole cert data (Kuma sends a provided CA's file as is); a certificate
 * that two backends share appears once.
 */
export function trustBundlePem(cas: readonly LoadedCa[]): string {
  const seen = new Set<string>()
  const parts: string[] = []
  for (const ca of cas) {
    const fresh = certificatesFromPem(ca.trustBundlePem).some((der) => !seen.has(toHex(der)))
    for (const der of certificatesFromPem(ca.trustBundlePem)) seen.add(toHex(der))
    if (fresh)
      parts.push(ca.trustBundlePem.endsWith('\n') ? ca.trustBundlePem : `${ca.trustBundlePem}\n`)
  }
  return parts.join('')
}
