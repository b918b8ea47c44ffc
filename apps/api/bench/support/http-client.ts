/**
 * A small HTTP/1.1 client over node:http. Node's global fetch (undici) pools at most a few
 * connections per origin unless given an undici `Agent`, and the `undici` package is not installed;
 * an `http.Agent` with unlimited sockets lets every simulated data plane hold its own connection.
 */
import http from 'node:http'

export interface HttpAnswer {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly text: string
}

export interface HttpCall {
  readonly method: 'GET' | 'POST' | 'PUT'
  readonly path: string
  readonly headers?: Record<string, string>
  /** JSON-encoded unless a string. */
  readonly body?: unknown
  readonly signal?: AbortSignal
}

/** One keep-alive connection per request in flight, with no upper bound. */
export function unboundedAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY })
}

export function send(agent: http.Agent, baseUrl: string, call: HttpCall): Promise<HttpAnswer> {
  const body =
    call.body === undefined
      ? undefined
      : typeof call.body === 'string'
        ? call.body
        : JSON.stringify(call.body)
  const headers: Record<string, string> = { ...call.headers }
  if (body !== undefined) {
    headers['content-type'] ??= 'application/json'
    headers['content-length'] = String(Buffer.byteLength(body))
  }
  return new Promise((resolve, reject) => {
    const request = http.request(
      new URL(call.path, baseUrl),
      {
        method: call.method,
        agent,
        headers,
        ...(call.signal === undefined ? {} : { signal: call.signal }),
      },
      (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('error', reject)
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          })
        )
      }
    )
    request.on('error', reject)
    request.end(body)
  })
}

/** Runs `work` over `items` with at most `limit` calls in flight; fails on the first failure. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>
): Promise<void> {
  let next = 0
  const lane = async () => {
    while (next < items.length) {
      const index = next++
      await work(items[index] as T, index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane))
}
