/**
 * Who may do what (spec §9.4). As in Kuma: Secrets are admin-only for every verb, and only admins
 * issue tokens. Beyond Kuma: an anonymous caller (no token, not an admin by locality) may read but
 * not change resources; Kuma lets anyone who reaches the port rewrite a Mesh's CA.
 */
import { MeshcaError } from '@meshca/core-mtls'
import type { Context } from 'hono'
import { ADMIN_GROUP, ADMIN_USER, ANONYMOUS_USER, type AppEnv, type User } from '../context.ts'

/** Kuma's default `adminResources`: the user `mesh-system:admin` or the group of the same name. */
export function isAdmin(user: User): boolean {
  return user.name === ADMIN_USER.name || user.groups.includes(ADMIN_GROUP)
}

/** Kuma's `user.String()`: `name/group1,group2`. */
export function describeUser(user: User): string {
  return `${user.name}/${user.groups.join(',')}`
}

function forbidden(reason: string): MeshcaError {
  return new MeshcaError('FORBIDDEN', reason)
}

/** Kuma's `adminResourceAccess` for admin-only types (Secret). */
export function requireAdminFor(c: Context<AppEnv>, resourceType: string): void {
  const user = c.get('user')
  if (!isAdmin(user)) {
    throw forbidden(
      `user ${JSON.stringify(describeUser(user))} cannot access the resource of type ${JSON.stringify(resourceType)}`
    )
  }
}

/** Token issuance (Kuma's `generateDpToken` / `generateUserToken` access), admins only. */
export function requireAdminToGenerate(c: Context<AppEnv>, what: string): void {
  const user = c.get('user')
  if (!isAdmin(user)) {
    throw forbidden(`user ${JSON.stringify(describeUser(user))} cannot generate ${what}`)
  }
}

export function requireAuthenticatedWriter(c: Context<AppEnv>, resourceType: string): void {
  const user = c.get('user')
  if (user.name === ANONYMOUS_USER.name) {
    throw forbidden(
      `user ${JSON.stringify(describeUser(user))} cannot change the resource of type ${JSON.stringify(resourceType)}: authenticate with a user token`
    )
  }
}
