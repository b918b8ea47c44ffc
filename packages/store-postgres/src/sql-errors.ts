import type { ErrorCode } from '@meshca/core-mtls'
import { isMeshcaError, MeshcaError } from '@meshca/core-mtls'

/**
 * What a failed query becomes. Neither the drivers' messages nor their errors travel on: drizzle
 * puts the query parameters in its message, postgres.js and PGlite attach them to the error, and
 * PostgreSQL's `detail` may quote a whole row, so any of them could carry a spec (inline CA keys,
 * secret ciphertext) or, for connection errors, the server address. The cause keeps only fields
 * that name a condition, never a value.
 */
export function toStoreError(error: unknown, action: string): MeshcaError {
  if (isMeshcaError(error)) return error
  const driverError = findDriverError(error)
  const condition = driverError?.code ?? closedPgliteCondition(error)
  const code = classify(condition)
  const reason = condition === undefined ? 'unexpected driver error' : describe(condition)
  const message =
    code === 'STORE_UNAVAILABLE'
      ? `${action}: the PostgreSQL store is unavailable (${reason})`
      : `${action} failed (${reason})`
  return new MeshcaError(code, message, { cause: sanitizedCause(driverError, condition) })
}

export function storeClosedError(): MeshcaError {
  return new MeshcaError('STORE_UNAVAILABLE', 'the store is closed')
}

/** Turns a driver failure of `action` into the store's error; one function per action. */
const failures = new Map<string, (error: unknown) => never>()

export function failedAs(action: string): (error: unknown) => never {
  let failed = failures.get(action)
  if (failed === undefined) {
    failed = (error) => {
      throw toStoreError(error, action)
    }
    failures.set(action, failed)
  }
  return failed
}

/** A query drizzle builds and runs itself (the prepared statements map their errors alone). */
export function runAs<T>(action: string, query: () => Promise<T>): Promise<T> {
  let pending: Promise<T>
  try {
    // drizzle's query builders are thenables that build their SQL in `then`: adopted here, a
    // throw there rejects `pending` instead of escaping.
    pending = Promise.resolve(query())
  } catch (error) {
    return Promise.reject(toStoreError(error, action))
  }
  return pending.catch(failedAs(action))
}

interface DriverError {
  readonly code: string
  readonly severity?: unknown
  readonly routine?: unknown
  /** postgres.js names them `*_name`, PGlite without the suffix. */
  readonly table?: unknown
  readonly table_name?: unknown
  readonly constraint?: unknown
  readonly constraint_name?: unknown
}

/** The first error along the `cause` chain that carries a SQLSTATE or a socket/driver code. */
function findDriverError(error: unknown): DriverError | undefined {
  let current: unknown = error
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string' && code !== '') return current as DriverError
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

/** The SQLSTATE or socket/driver code of a driver failure, as `toStoreError` reads it. */
export function driverCondition(error: unknown): string | undefined {
  return findDriverError(error)?.code
}

/** PGlite rejects every call after `close()` with a plain Error and no code. */
function closedPgliteCondition(error: unknown): string | undefined {
  let current: unknown = error
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current.message === 'PGlite is closed') return 'PGLITE_CLOSED'
    current = current.cause
  }
  return undefined
}

const UNAVAILABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENOENT',
  'ERR_SOCKET_CLOSED',
  'ERR_STREAM_DESTROYED',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'PGLITE_CLOSED',
])

/** SQLSTATEs that mean "the database cannot serve this now", as opposed to "this request is wrong". */
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown: pg_terminate_backend, fast shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up, shutting down, recovering
  '57P05', // idle_session_timeout
  '57014', // query_canceled
  '25006', // read_only_sql_transaction: a standby after failover
  '3D000', // invalid_catalog_name: the database is gone
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available
])

function classify(condition: string | undefined): ErrorCode {
  if (condition === undefined) return 'INTERNAL'
  if (UNAVAILABLE_SOCKET_CODES.has(condition) || UNAVAILABLE_SQLSTATES.has(condition)) {
    return 'STORE_UNAVAILABLE'
  }
  const sqlClass = condition.slice(0, 2)
  // 08 connection exception, 53 insufficient resources, 58 system error, 28 authorization.
  if (['08', '53', '58', '28'].includes(sqlClass) && condition.length === 5) {
    return 'STORE_UNAVAILABLE'
  }
  if (condition === '23505') return 'ALREADY_EXISTS'
  // 22 data exception (bad encoding, value too long), 23 integrity, 54 program limit.
  if (['22', '23', '54'].includes(sqlClass) && condition.length === 5) return 'INVALID'
  return 'INTERNAL'
}

const CONDITION_NAMES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  CONNECT_TIMEOUT: 'connection timed out',
  CONNECTION_CLOSED: 'connection closed',
  CONNECTION_ENDED: 'connection ended',
  CONNECTION_DESTROYED: 'connection destroyed',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host lookup failed',
  PGLITE_CLOSED: 'the embedded database is closed',
  '57P01': 'the server terminated the connection',
  '57P02': 'the server crashed',
  '57P03': 'the server is not accepting connections',
  '3D000': 'the database does not exist',
  '25006': 'the server is read-only',
  '53300': 'too many connections',
  '42P01': 'the store tables are missing',
  '23505': 'duplicate key',
  '22021': 'invalid character encoding',
  '22001': 'value too long',
}

function describe(condition: string): string {
  const name = CONDITION_NAMES[condition]
  return name === undefined ? `code ${condition}` : `${name}, code ${condition}`
}

function sanitizedCause(driverError: DriverError | undefined, condition: string | undefined) {
  const cause = new Error(condition === undefined ? 'driver error' : `code ${condition}`)
  cause.name = 'PostgresDriverError'
  if (driverError === undefined) return cause
  const fields: Record<string, string> = {}
  const pick = (field: string, ...values: unknown[]) => {
    const value = values.find((v) => typeof v === 'string')
    if (typeof value === 'string') fields[field] = value
  }
  pick('severity', driverError.severity)
  pick('routine', driverError.routine)
  pick('table', driverError.table, driverError.table_name)
  pick('constraint', driverError.constraint, driverError.constraint_name)
  return Object.assign(cause, { code: condition, ...fields })
}
