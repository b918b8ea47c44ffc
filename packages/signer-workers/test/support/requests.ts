import type { LeafRequest, SubjectKey } from '@meshca/core-mtls'

/** A data plane request valid from now on, as core's identity issuer builds it. */
export function leafRequest(
  subjectKey: SubjectKey,
  service = 'web',
  serialNumber: Uint8Array = globalThis.crypto.getRandomValues(new Uint8Array(16))
): LeafRequest {
  const now = Math.floor(Date.now() / 1000) * 1000
  return {
    subjectKey,
    serialNumber,
    notBefore: new Date(now - 10_000),
    notAfter: new Date(now + 30 * 86_400_000),
    uris: [`spiffe://default/${service}`, `kuma://kuma.io/service/${service}`],
  }
}

/** Serials come from one draw: a random fill per request would dominate a load generator. */
export function leafRequests(count: number, subjectKey: SubjectKey): LeafRequest[] {
  const serials = globalThis.crypto.getRandomValues(new Uint8Array(16 * count))
  return Array.from({ length: count }, (_, i) =>
    leafRequest(subjectKey, `svc-${i}`, serials.subarray(16 * i, 16 * i + 16))
  )
}
