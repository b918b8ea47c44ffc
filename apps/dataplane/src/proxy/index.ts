/**
 * @module
 * The proxy engine of meshca-dp: inbound and outbound L4 listeners doing the mesh's mutual TLS,
 * with the identity they present, RBAC on inbounds, and their metrics.
 */
export { type ClientHelloSniff, MAX_CLIENT_HELLO_BYTES, sniffClientHello } from './client-hello.ts'
export { DenialLog, type DenialLogOptions } from './denial-log.ts'
export { InboundListener, type InboundListenerOptions, KUMA_ALPN } from './inbound-listener.ts'
export { type DrainOptions, ListenerCore, type ListenerOptions } from './listener-core.ts'
export { OutboundListener, type OutboundListenerOptions } from './outbound-listener.ts'
export { type CertificateView, type PeerIdentity, PeerUriCache, uriSansOf } from './peer-uris.ts'
export {
  type Direction,
  type HandshakeFailureReason,
  ListenerMetrics,
  ProxyMetrics,
  type UpstreamFailureReason,
} from './proxy-metrics.ts'
export { DEFAULT_TIMEOUTS, type ProxyTimeouts } from './timeouts.ts'
export {
  type ActiveIdentity,
  type IdentityMaterial,
  type ProxyMtlsMode,
  type ServerTlsOptions,
  TlsIdentity,
} from './tls-identity.ts'
