/**
 * Valid bodies under wrong, odd or missing content types, on every body route. What is neither JSON
 * nor YAML (and YAML for the data plane API, which takes JSON only) must be a 415.
 */
import { BODY_ROUTES, callerFor, targetName } from './body-routes.ts'
import { type CorpusContext, describe, type Probe, withCredentials } from './probe.ts'

interface ContentType {
  readonly value: string | undefined
  /** 415 on every route; `'yaml'`: 415 where YAML is not taken; else any answer. */
  readonly unsupported?: true | 'yaml'
}

const CONTENT_TYPES: readonly ContentType[] = [
  { value: 'text/plain', unsupported: true },
  { value: 'application/x-www-form-urlencoded', unsupported: true },
  { value: 'multipart/form-data; boundary=x', unsupported: true },
  { value: 'application/xml', unsupported: true },
  { value: 'application/octet-stream', unsupported: true },
  { value: 'application/jsonx', unsupported: true },
  { value: 'json', unsupported: true },
  { value: '*/*', unsupported: true },
  { value: `application/${'x'.repeat(6_000)}`, unsupported: true },
  { value: 'application/yaml', unsupported: 'yaml' },
  { value: 'text/x-yaml', unsupported: 'yaml' },
  { value: undefined },
  { value: '' },
  { value: 'APPLICATION/JSON' },
  { value: 'application/json; charset=utf-16' },
  { value: 'application/json;;;;' },
  { value: 'application/vnd.kuma+json' },
]

export function contentTypeProbes(context: CorpusContext): Probe[] {
  return BODY_ROUTES.flatMap((route) =>
    CONTENT_TYPES.map((type): Probe => {
      const name = targetName(route, context)
      const { who, anonymous } = callerFor(route, context)
      const unsupported = type.unsupported === true || (type.unsupported === 'yaml' && !route.yaml)
      const headers = type.value === undefined ? {} : { 'content-type': type.value }
      return {
        family: 'content types',
        label: `${route.method} ${route.path(name)} content-type: ${type.value === undefined ? '(none)' : describe(type.value)}`,
        who,
        request: {
          method: route.method,
          target: route.path(name),
          headers: withCredentials(context.tokens, who, headers),
          body: { kind: 'bytes', data: Buffer.from(JSON.stringify(route.base(name, context))) },
        },
        expect: anonymous ?? (unsupported ? { statuses: [415] } : {}),
      }
    })
  )
}
