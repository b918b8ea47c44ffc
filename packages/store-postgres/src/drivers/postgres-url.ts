/**
 * The store's PostgreSQL URL, read the way libpq reads it where postgres.js does not. postgres.js
 * sends any query parameter it does not know to the server as a setting, so libpq's `host`, `port`,
 * `dbname`, `user` and `password` parameters would fail the connection ("unrecognized configuration
 * parameter"); and it looks a percent-encoded socket directory in the host up in DNS. Both are how
 * libpq users reach a server over its Unix socket: `postgres:///cp?host=/var/run/postgresql` or
 * `postgres://%2Fvar%2Frun%2Fpostgresql/cp`.
 */
import { MeshcaError } from '@meshca/core-mtls'

export interface PostgresTarget {
  /** The URL to give postgres.js, without the parameters below. */
  readonly url: string
  /** What the URL said apart from its authority and path, as postgres.js options. */
  readonly options: {
    /** A host name, or a socket directory (it starts with `/`). */
    readonly host?: string
    readonly port?: number
    readonly database?: string
    readonly username?: string
    readonly password?: string
  }
}

const URL_MESSAGE = 'must be a postgres:// or postgresql:// URL'

function invalidUrl(message: string): MeshcaError {
  return new MeshcaError('INVALID', `the store URL ${message}`, {
    violations: [{ field: 'url', message }],
  })
}

/** A libpq query parameter, taken out of `url`. */
function take(url: URL, name: string): string | undefined {
  const value = url.searchParams.get(name)
  if (value === null) return undefined
  url.searchParams.delete(name)
  if (value === '') throw invalidUrl(`has an empty ${name} parameter`)
  return value
}

/**
 * A user without a host (`postgres://meshca@/cp?host=/var/run/postgresql`): libpq reads it, a WHATWG
 * URL does not. postgres.js's own default host stands in for the missing one.
 */
const USER_WITHOUT_HOST = /^(postgres(?:ql)?:\/\/[^/?#]*@)(?=[/?#]|$)/i

export function postgresTarget(text: string): PostgresTarget {
  let url: URL
  try {
    url = new URL(text.replace(USER_WITHOUT_HOST, '$1localhost'))
  } catch {
    throw invalidUrl(URL_MESSAGE)
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw invalidUrl(URL_MESSAGE)
  let hostname: string
  try {
    hostname = decodeURIComponent(url.hostname)
  } catch {
    throw invalidUrl('has a host that is not valid percent-encoding')
  }
  const host = take(url, 'host') ?? (hostname.startsWith('/') ? hostname : undefined)
  const portText = take(url, 'port')
  const port = portText === undefined ? undefined : Number(portText)
  if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65_535)) {
    throw invalidUrl('has a port parameter that is not a port number (1 to 65535)')
  }
  const database = take(url, 'dbname')
  const username = take(url, 'user')
  const password = take(url, 'password')
  return {
    url: url.toString(),
    options: {
      ...(host === undefined ? {} : { host }),
      ...(port === undefined ? {} : { port }),
      ...(database === undefined ? {} : { database }),
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password }),
    },
  }
}
