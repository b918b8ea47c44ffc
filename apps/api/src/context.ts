/** The Hono environment every route and middleware of the API shares. */

/** Who a request acts as (Kuma's `user.User`). */
export interface User {
  readonly name: string
  readonly groups: readonly string[]
}

/** Kuma's built-in users and groups (`pkg/core/user/user.go`). */
export const ADMIN_USER: User = {
  name: 'mesh-system:admin',
  groups: ['mesh-system:admin', 'mesh-system:authenticated'],
}
export const ANONYMOUS_USER: User = {
  name: 'mesh-system:anonymous',
  groups: ['mesh-system:unauthenticated'],
}
export const ADMIN_GROUP = 'mesh-system:admin'

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
