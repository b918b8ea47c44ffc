import { MeshcaError } from '../errors.ts'
import { SERVICE_TAG } from '../resources/dataplane.ts'

const SEGMENT = /^[A-Za-z0-9._-]+$/

/** go-spiffe's path segment rules, with its messages: a bad service name must not yield a cert. */
function checkSegment(segment: string): void {
  if (segment === '') {
    throw new MeshcaError('INVALID', 'path cannot contain empty segments')
  }
  if (segment === '.' || segment === '..') {
    throw new MeshcaError('INVALID', 'path cannot contain dot segments')
  }
  if (!SEGMENT.test(segment)) {
    throw new MeshcaError(
      'INVALID',
      'path segment characters are limited to letters, numbers, dots, dashes, and underscores'
    )
  }
}

export function meshSpiffeId(mesh: string): string {
  return `spiffe://${mesh}`
}

export function serviceSpiffeId(mesh: string, service: string): string {
  checkSegment(service)
  return `spiffe://${mesh}/${service}`
}

export function kumaUri(tag: string, value: string): string {
  // Kuma builds these with url.Parse; the value is kept verbatim, so only reject what cannot be a URI.
  const uri = `kuma://${tag}/${value}`
  if (!URL.canParse(uri) || /[\s]/.test(uri)) {
    throw new MeshcaError('INVALID', 'invalid Kuma URI')
  }
  return uri
}

/**
 * The URI SANs of a data plane certificate, in Kuma's order: one SPIFFE ID per sorted service,
 * then `kuma://<tag>/<value>` for every tag key (sorted) and value (sorted, unique), services included.
 */
export function identityUris(
  mesh: string,
  tagSet: ReadonlyMap<string, readonly string[]>
): string[] {
  const uris: string[] = []
  for (const service of tagSet.get(SERVICE_TAG) ?? []) uris.push(serviceSpiffeId(mesh, service))
  const keys = [...tagSet.keys()].sort()
  for (const key of keys) {
    const values = [...new Set(tagSet.get(key) ?? [])].sort()
    for (const value of values) uris.push(kumaUri(key, value))
  }
  return uris
}
