/** HTTP to the control plane's admin API, with Kuma's error body turned into a typed error. */

export interface Cause {
  readonly field: string
  readonly message: string
}

/** A failure the CLI reports and exits non-zero on; `causes` carry the server's field paths. */
export class CliError extends Error {
  override readonly name = 'CliError'
  readonly causes: readonly Cause[]
  readonly status: number | undefined

  constructor(message: string, options: { causes?: readonly Cause[]; status?: number } = {}) {
    super(message)
    this.causes = options.causes ?? []
    this.status = options.status
  }
}

export interface ApiResponse {
  readonly status: number
  readonly headers: Headers
  readonly body: unknown
  readonly text: string
}

export interface ApiClient {
  request(method: string, path: string, body?: unknown): Promise<ApiResponse>
  readonly baseUrl: string
}

function isCause(value: unknown): value is Cause {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Cause).field === 'string' &&
    typeof (value as Cause).message === 'string'
  )
}

/** Kuma's `Title (Details)` and its causes, or the plain-text body of a 405. */
export function errorFromResponse(response: ApiResponse): CliError {
  const body = response.body
  if (typeof body === 'object' && body !== null && 'title' in body) {
    const { title, details, causes } = body as {
      title?: unknown
      details?: unknown
      causes?: unknown
    }
    const message = details ? `${String(title)} (${String(details)})` : String(title)
    return new CliError(message, {
      status: response.status,
      causes: Array.isArray(causes) ? causes.filter(isCause) : [],
    })
  }
  const text = response.text.trim() || `HTTP ${response.status}`
  return new CliError(text, { status: response.status })
}

export function createApiClient(options: {
  readonly baseUrl: string
  readonly token?: string
  readonly fetch?: typeof fetch
  readonly timeoutMs?: number
}): ApiClient {
  const doFetch = options.fetch ?? fetch
  const baseUrl = options.baseUrl.replace(/\/+$/, '')
  return {
    baseUrl,
    async request(method, path, body) {
      const headers: Record<string, string> = { accept: 'application/json' }
      if (options.token) headers.authorization = `Bearer ${options.token}`
      if (body !== undefined) headers['content-type'] = 'application/json'
      let response: Response
      try {
        response = await doFetch(`${baseUrl}${path}`, {
          method,
          headers,
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
        })
      } catch (error) {
        const reason =
          error instanceof Error
            ? error.cause instanceof Error
              ? error.cause.message
              : error.message
            : String(error)
        throw new CliError(`cannot reach the control plane at ${baseUrl}: ${reason}`)
      }
      const text = await response.text()
      let parsed: unknown = text
      if ((response.headers.get('content-type') ?? '').includes('json') && text !== '') {
        try {
          parsed = JSON.parse(text)
        } catch {
          parsed = text
        }
      }
      return { status: response.status, headers: response.headers, body: parsed, text }
    },
  }
}

/** The request, or the server's error when the status is not 2xx. */
export async function expectOk(promise: Promise<ApiResponse>): Promise<ApiResponse> {
  const response = await promise
  if (response.status < 200 || response.status > 299) throw errorFromResponse(response)
  return response
}
