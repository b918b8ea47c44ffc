/**
 * The one place errors become HTTP responses, in Kuma's shape (`pkg/core/rest/errors`):
 * `{title, details, causes: [{field, message}]}`, `causes` left out when empty. The title names the
 * operation that failed (set per route); the status and details come from the error.
 */
import {
  type ErrorCode,
  isMeshcaError,
  type Logger,
  type MeshcaError,
  type Violation,
} from '@meshca/core-mtls'
import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { AppEnv } from '../context.ts'
import { isApiProblem } from '../http/api-problem.ts'

export interface ErrorMapping {
  readonly status: ContentfulStatusCode
  /** Fixed details (Kuma's); absent: the error's own message, which never holds key material. */
  readonly details?: string
  /** Replaces the operation's title, as Kuma does for authentication and access errors. */
  readonly title?: string
  /** Logged: the caller cannot fix these, an operator may have to. */
  readonly log?: boolean
  readonly retryAfterSeconds?: number
}

/** ErrorCode → HTTP: the only table of its kind (style anchor 9). */
export const ERROR_MAPPINGS: Readonly<Record<ErrorCode, ErrorMapping>> = {
  INVALID: { status: 400, details: 'Resource is not valid' },
  NOT_FOUND: { status: 404, details: 'Not found' },
  // Kuma answers 500 to a create race; meshca retries writes and reports what is left as a conflict.
  ALREADY_EXISTS: { status: 409, details: 'Resource already exists' },
  CONFLICT: { status: 409, details: 'Resource conflict' },
  MESH_NOT_FOUND: { status: 400, details: 'Mesh is not found' },
  STORE_UNAVAILABLE: { status: 503, log: true, retryAfterSeconds: 5 },
  SIGNER_SATURATED: { status: 503, retryAfterSeconds: 1 },
  UNAUTHENTICATED: {
    status: 401,
    details: 'Unauthenticated',
    title: 'Invalid authentication data',
  },
  FORBIDDEN: { status: 403, title: 'Access Denied' },
  CA_UNAVAILABLE: { status: 500, log: true },
  // What the API hands to crypto is user input (keys, certificates, CSRs).
  CRYPTO: { status: 400 },
  CORRUPTED: { status: 500, log: true },
  INTERNAL: { status: 500, details: 'Internal Server Error', log: true },
}

export interface KumaError {
  readonly title: string
  readonly details: string
  readonly causes?: readonly Violation[]
}

const INTERNAL_SERVER_ERROR = 'Internal Server Error'

export function kumaErrorResponse(
  status: ContentfulStatusCode,
  body: KumaError,
  headers: Readonly<Record<string, string>> = {}
): Response {
  const json: KumaError =
    body.causes === undefined || body.causes.length === 0
      ? { title: body.title, details: body.details }
      : body
  return new Response(JSON.stringify(json), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  })
}

/** The operation title set by the route, or a generic one for failures before any route ran. */
function titleOf(c: Context<AppEnv>, status: number): string {
  const title = c.get('errorTitle')
  if (title) return title
  if (status === 404) return 'Not Found'
  if (status === 413) return 'Payload Too Large'
  return status >= 500 ? INTERNAL_SERVER_ERROR : 'Bad Request'
}

function causesOf(error: MeshcaError): readonly Violation[] {
  if (error.violations.length > 0) return error.violations
  if (error.path !== undefined) return [{ field: error.path, message: error.message }]
  // Behind the fixed "Resource is not valid", a bare INVALID would otherwise lose its reason.
  return error.code === 'INVALID' ? [{ field: '', message: error.message }] : []
}

/**
 * The wait an overloaded component asks for (the signer pool's `SignerSaturatedError` measures its
 * backlog), read structurally; whole seconds, as `Retry-After` wants.
 */
function retryAfterSeconds(error: MeshcaError): number | undefined {
  const hint = (error as { readonly retryAfterSeconds?: unknown }).retryAfterSeconds
  if (typeof hint !== 'number' || !Number.isFinite(hint) || hint <= 0) return undefined
  return Math.ceil(hint)
}

export function errorHandler(logger: Logger) {
  return (error: unknown, c: Context<AppEnv>): Response => {
    if (isApiProblem(error)) {
      return kumaErrorResponse(
        error.status,
        {
          title: error.title ?? titleOf(c, error.status),
          details: error.details,
          causes: error.causes,
        },
        error.headers
      )
    }
    if (isMeshcaError(error)) {
      const mapping = ERROR_MAPPINGS[error.code]
      if (mapping.log) {
        logger.log('error', 'request failed', {
          method: c.req.method,
          path: c.req.path,
          code: error.code,
          error: error.message,
        })
      }
      const retryAfter = retryAfterSeconds(error) ?? mapping.retryAfterSeconds
      const headers: Record<string, string> =
        retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }
      const hidden = mapping.details === INTERNAL_SERVER_ERROR
      return kumaErrorResponse(
        mapping.status,
        {
          title: mapping.title ?? titleOf(c, mapping.status),
          details: mapping.details ?? error.message,
          causes: hidden || mapping.details === undefined ? [] : causesOf(error),
        },
        headers
      )
    }
    if (error instanceof HTTPException && error.status < 500) {
      return kumaErrorResponse(error.status, {
        title: titleOf(c, error.status),
        details: error.message || 'Bad Request',
      })
    }
    logger.log('error', 'unexpected error', {
      method: c.req.method,
      path: c.req.path,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    })
    return kumaErrorResponse(500, { title: titleOf(c, 500), details: INTERNAL_SERVER_ERROR })
  }
}

/** Unknown routes answer with the error body too, so that clients parse every failure the same way. */
export function notFoundHandler(): Response {
  return kumaErrorResponse(404, { title: 'Not Found', details: 'Not found' })
}
