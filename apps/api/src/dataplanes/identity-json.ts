/** The wire form of an identity: what `POST …/identity` answers and each `identity` event carries. */
import type { IdentityResult, JsonObject } from '@meshca/core-mtls'

/** RFC 3339 in UTC, with milliseconds only when there are some (x509 times are whole seconds). */
export function rfc3339(date: Date): string {
  return date.toISOString().replace('.000Z', 'Z')
}

export function identityJson(result: IdentityResult): JsonObject {
  if (result.mode === 'DISABLED') return { mode: 'DISABLED' }
  return {
    certificateChain: result.certificateChainPem,
    ...(result.privateKeyPem === undefined ? {} : { privateKey: result.privateKeyPem }),
    trustBundle: result.trustBundlePem,
    mode: result.mode,
    backend: result.backend,
    supportedBackends: [...result.supportedBackends],
    generation: rfc3339(result.generation),
    expiration: rfc3339(result.expiration),
    rotateAt: rfc3339(result.rotateAt),
  }
}
