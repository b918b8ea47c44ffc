import { ADMIN_GROUP, ADMIN_USER_NAME } from '@meshca/core-mtls'

/** The Hono environment every route and middleware of the API shares. */

/** Who a request acts as (Kuma's `user.User`). */
export interface User {
  readonly name: string
  readonly groups: readonly string[]
}

/** Kuma's built-in users and groups (`pkg/core/user/user.go`). */
export const ADMIN_USER: User = {
  name: ADMIN_USER_NAME,
  groups: [ADMIN_GROUP, 'mesh-system:authenticated'],
}
export const ANONYMOUS_USER: User = {
  name: 'mesh-system:anonymous',
  groups: ['mesh-system:unauthenticated'],
}
export { ADMIN_GROUP }

export interface AppVariables {
  user: User
  /** Title of the error body if this request fails, as Kuma titles it per operation. */
  errorTitle: string
}

export interface AppEnv {
  /** Whatever the runtime adapter passes (`@hono/node-server` bindings, `{ remoteAddress }`, …). */
  Bindings: object
  Variables: AppVariables
}
