/**
 * The store's PostgreSQL URL, read the way libpq reads it where postgres.js does not. postgres.js
 * sends any query parameter it does not know to the server as a setting, so libpq's `host`, `port`,
 * `dbname`, `user` and `password` parameters would fail the connection ("unrecognized configuration
 * parameter"); it looks a percent-encoded socket directory in the host up in DNS; and it reads `+`
 * in a parameter as a space. Socket directories are how libpq users reach a server over its Unix
 * socket: `postgres:///cp?host=/var/run/postgresql` or `postgres://%2Fvar%2Frun%2Fpostgresql/cp`.
 */
import { MeshcaError } from '@meshca/core-mtls'
import { CHANGE_LOG_SETTING, WRITER_SETTING } from '../names.ts'

export interface PostgresTarget {
  /** The URL to give postgres.js, without the parameters below. */
  readonly url: string
  /** What the URL said apart from its authority and path, as postgres.js options. */
  readonly options: {
    readonly host?: string
    /** The socket file, when the host is a directory. */
    readonly path?: string
    readonly port?: number
    readonly database?: string
    readonly username?: string
    readonly password?: string
  }
}

const URL_MESSAGE = 'must be a postgres:// or postgresql:// URL'
const LIBPQ_PARAMETERS = new Set(['host', 'port', 'dbname', 'user', 'password'])

function invalidUrl(message: string): MeshcaError {
  return new MeshcaError('INVALID', `the store URL ${message}`, {
    violations: [{ field: 'url', message }],
  })
}

function decoded(text: string, what: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    throw invalidUrl(`has ${what} that is not valid percent-encoding`)
  }
}

/**
 * A user without a host (`postgres://meshca@/cp?host=/var/run/postgresql`): libpq reads it, a WHATWG
 * URL does not. A stand-in host lets it parse; the user then travels as options, so that the URL
 * that reaches postgres.js has no host and PGHOST still applies, as with libpq.
 */
const USER_WITHOUT_HOST = /^(postgres(?:ql)?:\/\/[^/?#]*@)(?=[/?#]|$)/i
const STAND_IN_HOST = 'host.invalid'

export function postgresTarget(text: string): PostgresTarget {
  const withoutHost = USER_WITHOUT_HOST.test(text)
  let url: URL
  try {
    url = new URL(withoutHost ? text.replace(USER_WITHOUT_HOST, `$1${STAND_IN_HOST}`) : text)
  } catch {
    throw invalidUrl(URL_MESSAGE)
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw invalidUrl(URL_MESSAGE)

  // libpq decodes %XX only; URLSearchParams would also turn `+` into a space.
  const libpq = new Map<string, string>()
  const kept: string[] = []
  for (const pair of url.search.slice(1).split('&')) {
    if (pair === '') continue
    const equals = pair.indexOf('=')
    const name = decoded(equals === -1 ? pair : pair.slice(0, equals), 'a parameter name')
    // The server reads setting names in any case, and a URL's parameters win over the client's.
    const setting = name.toLowerCase()
    if (setting === CHANGE_LOG_SETTING) {
      throw invalidUrl(
        `cannot set ${CHANGE_LOG_SETTING}: the change log is what a reconnect replays`
      )
    }
    if (setting === WRITER_SETTING) {
      throw invalidUrl(`cannot set ${WRITER_SETTING}: the store's writes set it for themselves`)
    }
    if (!LIBPQ_PARAMETERS.has(name)) {
      kept.push(pair)
      continue
    }
    const value = equals === -1 ? '' : decoded(pair.slice(equals + 1), `a ${name} parameter`)
    if (value === '') throw invalidUrl(`has an empty ${name} parameter`)
    libpq.set(name, value)
  }

  const portText = libpq.get('port')
  const port = portText === undefined ? undefined : Number(portText)
  if (portText !== undefined && !(/^\d{1,5}$/.test(portText) && port && port <= 65_535)) {
    throw invalidUrl('has a port parameter that is not one port number (1 to 65535)')
  }
  const authorityHost = withoutHost ? '' : decoded(url.hostname, 'a host')
  const host = libpq.get('host') ?? (authorityHost.startsWith('/') ? authorityHost : undefined)
  if (host !== undefined && (host.includes(',') || (!host.startsWith('/') && host.includes(':')))) {
    throw invalidUrl(
      'has a host parameter with several hosts or an IPv6 address: give one host, in the URL'
    )
  }
  const username = libpq.get('user') ?? (withoutHost ? decoded(url.username, 'a user') : undefined)
  const password =
    libpq.get('password') ??
    (withoutHost && url.password ? decoded(url.password, 'a password') : undefined)
  const database = libpq.get('dbname')

  const query = kept.length > 0 ? `?${kept.join('&')}` : ''
  url.search = query
  const target = withoutHost
    ? `${url.protocol}//${url.pathname}${query}${url.hash}`
    : url.toString()
  const socketPort = port ?? (url.port === '' ? 5432 : Number(url.port))
  return {
    url: target,
    options: {
      ...(host === undefined ? {} : { host }),
      ...(host?.startsWith('/') ? { path: `${host}/.s.PGSQL.${socketPort}` } : {}),
      ...(port === undefined ? {} : { port }),
      ...(database === undefined ? {} : { database }),
      ...(username === undefined || username === '' ? {} : { username }),
      ...(password === undefined ? {} : { password }),
    },
  }
}
