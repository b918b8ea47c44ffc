/**
 * Kuma 2.2's checks of a Mesh's `logging`, `tracing` and `metrics` sections, limited to the rules
 * whose messages docs/kuma-compatibility.md records (§2.6). These sections stay untyped JSON in
 * `MeshSpec.other`, so values of the wrong JSON type are reported here as well.
 * Paths use the JSON field `conf` where Kuma's accidentally says `config` (decision 7 of
 * docs/decisions.md).
 */
import type { JsonReader } from './json-reader.ts'

export function checkLogging(value: unknown, r: JsonReader): void {
  const logging = r.object(value, 'logging')
  if (logging === undefined) return
  const used = new Set<string>()
  for (const [i, item] of (r.array(logging.backends, 'logging.backends') ?? []).entries()) {
    const at = `logging.backends[${i}]`
    const backend = r.object(item, at) ?? {}
    const name = r.string(backend.name, `${at}.name`) ?? ''
    if (name === '') r.fail(`${at}.name`, 'cannot be empty')
    const conf = r.object(backend.conf, `${at}.conf`) ?? {}
    switch (r.string(backend.type, `${at}.type`)) {
      case 'file':
        if ((r.string(conf.path, `${at}.conf.path`) ?? '') === '') {
          r.fail(`${at}.conf.path`, 'cannot be empty')
        }
        break
      case 'tcp': {
        const address = r.string(conf.address, `${at}.conf.address`) ?? ''
        if (address === '') r.fail(`${at}.conf.address`, 'cannot be empty')
        else if (!isHostPort(address))
          r.fail(`${at}.conf.address`, 'has to be in format of HOST:PORT')
        break
      }
      default:
        r.fail(`${at}.type`, 'unknown backend type. Available backends: "tcp", "file"')
    }
    checkUnique(name, used, `${at}.name`, r)
  }
  const defaultBackend = r.string(logging.defaultBackend, 'logging.defaultBackend') ?? ''
  if (defaultBackend !== '' && !used.has(defaultBackend)) {
    r.fail('logging.defaultBackend', 'has to be set to one of the logging backend in mesh')
  }
}

export function checkTracing(value: unknown, r: JsonReader): void {
  const tracing = r.object(value, 'tracing')
  if (tracing === undefined) return
  const used = new Set<string>()
  for (const [i, item] of (r.array(tracing.backends, 'tracing.backends') ?? []).entries()) {
    const at = `tracing.backends[${i}]`
    const backend = r.object(item, at) ?? {}
    const name = r.string(backend.name, `${at}.name`) ?? ''
    if (name === '') r.fail(`${at}.name`, 'cannot be empty')
    const sampling = r.number(backend.sampling, `${at}.sampling`) ?? 0
    if (sampling < 0 || sampling > 100) r.fail(`${at}.sampling`, 'has to be in [0.0 - 100.0] range')
    const conf = r.object(backend.conf, `${at}.conf`) ?? {}
    switch (r.string(backend.type, `${at}.type`)) {
      case 'zipkin': {
        const problem = zipkinUrlProblem(r.string(conf.url, `${at}.conf.url`) ?? '')
        if (problem !== undefined) r.fail(`${at}.conf.url`, problem)
        break
      }
      case 'datadog':
        if ((r.string(conf.address, `${at}.conf.address`) ?? '') === '') {
          r.fail(`${at}.conf.address`, 'cannot be empty')
        }
        break
      default:
        r.fail(`${at}.type`, 'unknown backend type. Available backends: "zipkin", "datadog"')
    }
    checkUnique(name, used, `${at}.name`, r)
  }
  const defaultBackend = r.string(tracing.defaultBackend, 'tracing.defaultBackend') ?? ''
  if (defaultBackend !== '' && !used.has(defaultBackend)) {
    r.fail('tracing.defaultBackend', 'has to be set to one of the tracing backend in mesh')
  }
}

export function checkMetrics(value: unknown, r: JsonReader): void {
  const metrics = r.object(value, 'metrics')
  if (metrics === undefined) return
  const used = new Set<string>()
  for (const [i, item] of (r.array(metrics.backends, 'metrics.backends') ?? []).entries()) {
    const at = `metrics.backends[${i}]`
    const backend = r.object(item, at) ?? {}
    const name = r.string(backend.name, `${at}.name`) ?? ''
    checkUnique(name, used, `${at}.name`, r)
    if (r.string(backend.type, `${at}.type`) !== 'prometheus') {
      r.fail(`${at}.type`, 'unknown backend type. Available backends: "prometheus"')
    } else {
      checkPrometheusAggregates(r.object(backend.conf, `${at}.conf`) ?? {}, `${at}.conf`, r)
    }
  }
  const enabledBackend = r.string(metrics.enabledBackend, 'metrics.enabledBackend') ?? ''
  if (enabledBackend !== '' && !used.has(enabledBackend)) {
    r.fail('metrics.enabledBackend', 'has to be set to one of the backends in the mesh')
  }
}

function checkPrometheusAggregates(
  conf: Readonly<Record<string, unknown>>,
  path: string,
  r: JsonReader
): void {
  const seen = new Set<string>()
  for (const [i, item] of (r.array(conf.aggregate, `${path}.aggregate`) ?? []).entries()) {
    const at = `${path}.aggregate[${i}]`
    const aggregate = r.object(item, at) ?? {}
    const name = r.string(aggregate.name, `${at}.name`) ?? ''
    if (seen.has(name)) r.fail(`${at}.name`, `duplicate entry: ${name}, values have to be unique`)
    seen.add(name)
  }
}

function checkUnique(name: string, used: Set<string>, path: string, r: JsonReader): void {
  if (used.has(name))
    r.fail(path, `${JSON.stringify(name)} name is already used for another backend`)
  used.add(name)
}

/** Go's `net.SplitHostPort` succeeding with a non-empty host and port. */
function isHostPort(address: string): boolean {
  let host: string
  let port: string
  if (address.startsWith('[')) {
    const end = address.indexOf(']')
    if (end < 0 || address[end + 1] !== ':') return false
    host = address.slice(1, end)
    port = address.slice(end + 2)
  } else {
    const colon = address.lastIndexOf(':')
    if (colon < 0) return false
    host = address.slice(0, colon)
    port = address.slice(colon + 1)
    if (host.includes(':')) return false
  }
  if (/[[\]]/.test(host) || /[[\]]/.test(port)) return false
  return host !== '' && port !== ''
}

/** Go's `url.ParseRequestURI` then `URL.Port()`, as the zipkin check uses them. */
function zipkinUrlProblem(url: string): string | undefined {
  if (url === '') return 'cannot be empty'
  // An absolute path is a valid request URI, but it names no port.
  if (url.startsWith('/')) return 'port has to be explicitly specified'
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(url)) return 'invalid URL'
  try {
    new URL(url)
  } catch {
    return 'invalid URL'
  }
  // WHATWG URL drops a scheme's default port (http://x:80 → port ''); Go keeps what was written.
  const authority = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)/.exec(url)?.[1]
  if (authority === undefined) return 'port has to be explicitly specified'
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1)
  const portStart = hostPort.startsWith('[') ? hostPort.indexOf(']') + 1 : 0
  const colon = hostPort.indexOf(':', portStart)
  if (colon < 0 || colon === hostPort.length - 1) return 'port has to be explicitly specified'
  return undefined
}
