import type { DataplaneTokens, Logger, MeshcaCore, UserTokens } from '@meshca/core-mtls'

/** What the route modules use; `createApp` builds it from its deps. */
export interface RouteDeps {
  readonly core: MeshcaCore
  readonly userTokens: UserTokens
  readonly dataplaneTokens: DataplaneTokens
  readonly logger: Logger
}
