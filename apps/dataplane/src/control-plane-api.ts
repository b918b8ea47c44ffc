/**
 * The control plane's data plane API as the agent calls it: register and get an identity
 * (`POST …/identity`), and the two streams (`…/identity/stream`, `…/config/stream`). Bodies are read
 * with a bound; errors carry the status and the control plane's `details`.
 */
import type { DataplaneConfig, JsonObject } from '@meshca/core-mtls'
import { concatBytes } from '@meshca/core-mtls/adapter-kit'

/** `mode` DISABLED carries nothing else: mTLS is off for the mesh. */
export interface WireIdentity {
  readonly mode: 'STRICT' | 'PERMISSIVE' | 'DISABLED'
  readonly certificateChain?: string
  readonly trustBundle?: string
  readonly backend?: string
  readonly supportedBackends?: readonly string[]
  readonly expiration?: string
  readonly rotateAt?: string
}

export interface WireConfig extends DataplaneConfig {
  readonly version: string
}

export class ControlPlaneError extends Error {
  readonly status: number
  /** Seconds, from `Retry-After`. */
  readonly retryAfter: number | undefined

  constructor(status: number, message: string, retryAfter?: number) {
    super(message)
    this.name = 'ControlPlaneError'
    this.status = status
    this.retryAfter = retryAfter
  }

  /** Retrying cannot help: the token or the Dataplane is refused. */
  get permanent(): boolean {
    return this.status === 400 || this.status === 401 || this.status === 403
  }
}

const MAX_ERROR_BYTES = 64 * 1024

export interface ControlPlaneApiOptions {
  readonly baseUrl: string
  readonly token: string
  readonly mesh: string
  readonly name: string
}

export class ControlPlaneApi {
  readonly #options: ControlPlaneApiOptions

  constructor(options: ControlPlaneApiOptions) {
    this.#options = options
  }

  get #base(): string {
    const { baseUrl, mesh, name } = this.#options
    return `${baseUrl}/meshes/${encodeURIComponent(mesh)}/dataplanes/${encodeURIComponent(name)}`
  }

  /** Registers (or updates) the Dataplane and returns an identity for the CSR's key. */
  async register(
    dataplane: JsonObject,
    csrPem: string,
    signal?: AbortSignal
  ): Promise<WireIdentity> {
    const response = await fetch(`${this.#base}/identity`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${this.#options.token}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ dataplane, csr: csrPem }),
      ...(signal === undefined ? {} : { signal }),
    })
    if (!response.ok) throw await errorOf(response)
    return (await response.json()) as WireIdentity
  }

  /** Opens a stream; its body yields Server-Sent Events. */
  async open(stream: 'identity' | 'config', headers: Record<string, string>, signal: AbortSignal) {
    const response = await fetch(`${this.#base}/${stream}/stream`, {
      headers: {
        ...headers,
        authorization: `Bearer ${this.#options.token}`,
        accept: 'text/event-stream',
      },
      signal,
    })
    if (!response.ok || response.body === null) throw await errorOf(response)
    return response.body
  }
}

async function errorOf(response: Response): Promise<ControlPlaneError> {
  const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN)
  const text = await boundedText(response, MAX_ERROR_BYTES)
  let details = text
  try {
    const body = JSON.parse(text) as {
      title?: string
      details?: string
      causes?: { field: string; message: string }[]
    }
    details = [
      body.details ?? body.title,
      ...(body.causes ?? []).map((c) => `${c.field}: ${c.message}`),
    ]
      .filter(Boolean)
      .join('; ')
  } catch {
    // Not the API's error body: keep the text.
  }
  return new ControlPlaneError(
    response.status,
    `the control plane answered ${response.status}: ${details}`,
    Number.isFinite(retryAfter) ? retryAfter : undefined
  )
}

/** The first `maxBytes` of a body, read no further; '' when it cannot be read (the status says enough). */
async function boundedText(response: Response, maxBytes: number): Promise<string> {
  const reader = response.body?.getReader()
  if (reader === undefined) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    while (size < maxBytes) {
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(value)
      size += value.length
    }
  } catch {
    // A body cut short still says something.
  } finally {
    await reader.cancel().catch(() => undefined)
  }
  return new TextDecoder().decode(concatBytes(chunks).subarray(0, maxBytes))
}
