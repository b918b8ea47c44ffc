/**
 * Who may do what. As in Kuma: Secrets are admin-only for every verb, and only admins issue tokens.
 * Beyond Kuma: an anonymous caller (no token, not an admin by locality) may read but not change
 * resources; and CA material is treated as Secrets are: changing a Mesh's `mtls`, forcing an unsafe
 * CA switch and deleting a Mesh that holds CA material or Secrets are admin-only. Kuma lets any
 * authenticated user rewrite a Mesh's CA, which mints every identity of the mesh.
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
  requireAdminTo(c, `generate ${what}`)
}

/** What only admins may do, in Kuma's wording: `user "name/groups" cannot <action>`. */
export function requireAdminTo(c: Context<AppEnv>, action: string): void {
  const user = c.get('user')
  if (!isAdmin(user)) throw forbidden(`user ${JSON.stringify(describeUser(user))} cannot ${action}`)
}

export function requireAuthenticatedWriter(c: Context<AppEnv>, resourceType: string): void {
  const user = c.get('user')
  if (user.name === ANONYMOUS_USER.name) {
    throw forbidden(
      `user ${JSON.stringify(describeUser(user))} cannot change the resource of type ${JSON.stringify(resourceType)}: authenticate with a user token`
    )
  }
}

/** CA material (a Mesh's `mtls`, what deleting a Mesh destroys) is an admin's, as Secrets are. */
export function requireAdminForCaMaterial(c: Context<AppEnv>, action: string): void {
  requireAdminTo(c, `${action}: only admins manage CA material`)
}
