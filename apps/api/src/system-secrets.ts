/**
 * Where the control plane keeps Secrets of its own that belong to no mesh: the user token signing
 * key and revocations. The "mesh" is a name no Mesh can have (names never contain a dot), so users
 * can neither create a mesh there nor write Secrets in it; the API hides it from every listing.
 */
export const SYSTEM_SECRETS_MESH = 'meshca.system'

export function isSystemMesh(mesh: string): boolean {
  return mesh === SYSTEM_SECRETS_MESH
}
