/** The audit line of every data plane identity issued: which one, for whom, and why. */
import type { IdentityResult, Logger } from '@meshca/core-mtls'

export function logIssuance(
  logger: Logger,
  request: { readonly mesh: string; readonly name: string; readonly csr?: string },
  result: IdentityResult,
  reason: string
): void {
  logger.log('info', 'data plane identity issued', {
    mesh: request.mesh,
    dataplane: request.name,
    reason,
    ...(result.mode === 'DISABLED'
      ? { mode: 'DISABLED' }
      : {
          backend: result.backend,
          serial: result.serialNumber,
          expiration: result.expiration,
          csr: request.csr !== undefined,
        }),
  })
}
