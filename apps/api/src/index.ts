/**
 * @module
 * The meshca admin API: `createApp(deps)` (a Hono app, no socket), the configuration and the
 * control plane start-up the runtime entries (`src/entry/node.ts`, `src/entry/bun.ts`) use.
 */
export { type AppDeps, createApp, dataplaneSessionsFor, MAX_BODY_BYTES } from './app.ts'
export {
  type ApiConfig,
  CONFIG_HELP,
  DEFAULT_DATA_DIR,
  DEFAULT_HOST,
  DEFAULT_PORT,
  loadConfig,
  type SecretKeySource,
  STORE_KINDS,
  type StoreKind,
} from './config.ts'
export { ADMIN_USER, ANONYMOUS_USER, type AppEnv, type AppVariables, type User } from './context.ts'
export {
  type ControlPlane,
  type ControlPlaneOptions,
  startControlPlane,
} from './control-plane.ts'
export {
  createDataplaneSessions,
  type DataplaneIdentityRequest,
  type DataplaneSession,
  type DataplaneSessions,
  type DataplaneSessionsOptions,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_REISSUE_WINDOW_MS,
  type EventSink,
} from './dataplanes/dataplane-sessions.ts'
export { identityJson } from './dataplanes/identity-json.ts'
export { loadEncryptionKey } from './encryption-key.ts'
export {
  isLoopback,
  type RemoteAddress,
  remoteAddressFromEnv,
} from './middleware/authenticate.ts'
export { ERROR_MAPPINGS, type ErrorMapping, type KumaError } from './middleware/error-handler.ts'
export { CSR_HEADER } from './routes/dataplane-identity.ts'
export { UNSAFE_SWITCH_PARAM, WARNINGS_HEADER } from './routes/meshes.ts'
export { openStore } from './store.ts'
export { SYSTEM_SECRETS_MESH } from './system-secrets.ts'
