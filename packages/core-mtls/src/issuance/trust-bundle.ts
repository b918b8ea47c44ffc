import type { LoadedCa } from '../ca/ca-backend.ts'
import { certificatesFromPem, encodePem } from '../ca/pem.ts'
import { toHex } from '../util/bytes.ts'

/**
 * The trust bundle of a mesh: the CA certificates of every backend (decision 3 of
 * docs/decisions.md), so that a data plane keeps trusting peers signed by the old backend while the
 * mesh switches to a new one. Each backend contributes the certificates of its cert data; a
 * certificate two backends share appears once.
 */
export function trustBundlePem(cas: readonly LoadedCa[]): string {
  const seen = new Set<string>()
  const parts: string[] = []
  for (const ca of cas) {
    // Certificates only, re-encoded: whatever else a CA's file holds never reaches a data plane.
    for (const der of certificatesFromPem(ca.trustBundlePem)) {
      const key = toHex(der)
      if (seen.has(key)) continue
      seen.add(key)
      parts.push(encodePem('CERTIFICATE', der))
    }
  }
  return parts.join('')
}
