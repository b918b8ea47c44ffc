import { SERVICE_TAG, type Tags } from '../resources/dataplane.ts'

/**
 * The SNI an outbound sends (Kuma's `SNIFromTags`): the service, then the other tags sorted as
 * `{k=v,…}`; the upstream's mesh is one of them, e.g. `backend{mesh=default}`.
 */
export function sniFromTags(tags: Tags): string {
  const service = tags[SERVICE_TAG] ?? ''
  const extra = Object.keys(tags)
    .filter((key) => key !== SERVICE_TAG)
    .sort()
    .map((key) => `${key}=${tags[key]}`)
    .join(',')
  return extra === '' ? service : `${service}{${extra}}`
}
