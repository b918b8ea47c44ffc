/** Meshes and registered data planes in a harness, set up before a data plane calls the API. */
import { dataplane } from './fixtures.ts'
import type { Harness } from './harness.ts'

export function builtinMesh(
  name: string,
  options: { expiration?: string; backends?: string[]; enabled?: string } = {}
) {
  const backends = options.backends ?? ['ca-1']
  return {
    type: 'Mesh',
    name,
    mtls: {
      enabledBackend: options.enabled ?? backends[0],
      backends: backends.map((b) => ({
        name: b,
        type: 'builtin',
        ...(options.expiration ? { dpCert: { rotation: { expiration: options.expiration } } } : {}),
      })),
    },
  }
}

export async function putOk(h: Harness, path: string, body: unknown): Promise<void> {
  const response = await h.put(path, body)
  if (response.status !== 200 && response.status !== 201) {
    throw new Error(`PUT ${path}: ${response.status} ${await response.text()}`)
  }
}

/** A mesh and a registered data plane `name` with `kuma.io/service: service`. */
export async function registered(
  h: Harness,
  mesh: string,
  name: string,
  service: string
): Promise<void> {
  await putOk(
    h,
    `/meshes/${mesh}/dataplanes/${name}`,
    dataplane(mesh, name, { 'kuma.io/service': service })
  )
}

export function dpToken(
  h: Harness,
  mesh: string,
  name: string,
  tags: Record<string, string[]> = {}
): Promise<string> {
  return h.dataplaneTokens.issue({ name, mesh, tags, type: 'dataplane', validForMs: 3_600_000 })
}
