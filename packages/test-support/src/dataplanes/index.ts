/**
 * @module
 * A data plane without Envoy, for the data plane API's tests: its identity requests, the identity
 * stream (read in process or held open over HTTP), TLS endpoints using the identities it receives,
 * and openssl's verdict on them.
 */
export { DataplaneAgent, type Received } from './dataplane-agent.ts'
export { type Identity, serialOf, verifyIdentity } from './identity.ts'
export {
  type DataplaneApi,
  type InProcessApi,
  identityPath,
  openStream,
  postIdentity,
} from './identity-api.ts'
export { type HandshakeResult, handshake, MtlsServer } from './mtls-endpoints.ts'
export { parseSseBlock, type SseEvent, SseReader } from './sse.ts'
export { until } from './until.ts'
