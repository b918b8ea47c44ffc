/** The bounds every listener puts on what a peer controls. */
export interface ProxyTimeouts {
  /** From accept to the bytes that decide plaintext or TLS (mTLS on only). Default 10 s. */
  readonly firstBytesMs: number
  /** A TLS handshake, either side. Default 10 s. */
  readonly handshakeMs: number
  /** A TCP connect to an upstream (the application, an endpoint). Default 5 s. */
  readonly connectMs: number
  /** How long an endpoint that failed a connect is skipped by outbounds. Default 10 s. */
  readonly endpointCooldownMs: number
}

export const DEFAULT_TIMEOUTS: ProxyTimeouts = {
  firstBytesMs: 10_000,
  handshakeMs: 10_000,
  connectMs: 5_000,
  endpointCooldownMs: 10_000,
}

/** The upstream failure reason of a socket error. */
export function connectFailureReason(error: Error): 'refused' | 'timeout' | 'reset' | 'other' {
  const code = (error as NodeJS.ErrnoException).code
  if (code === 'ECONNREFUSED') return 'refused'
  if (code === 'ETIMEDOUT' || code === 'ECONNTIMEOUT') return 'timeout'
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'reset'
  return 'other'
}

/** The error of a connect that took longer than its bound. */
export function timeoutError(): Error {
  return Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })
}
