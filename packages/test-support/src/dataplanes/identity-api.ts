/** The data plane API's identity routes, as a data plane calls them. */
import { SseReader } from './sse.ts'

/** An API answered in process (a test harness around `app.request()`). */
export interface InProcessApi {
  request(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; headers?: Record<string, string> }
  ): Promise<Response>
}

/** Where the API is: the base URL of a real server, or one answered in process. */
export type DataplaneApi = string | InProcessApi

export function identityPath(mesh: string, name: string): string {
  return `/meshes/${mesh}/dataplanes/${name}/identity`
}

function call(
  api: DataplaneApi,
  method: string,
  path: string,
  options: { token?: string | undefined; body?: unknown; headers?: Record<string, string> }
): Promise<Response> {
  const { token, body, headers = {} } = options
  if (typeof api !== 'string') {
    return api.request(method, path, {
      headers,
      ...(token === undefined ? {} : { token }),
      ...(body === undefined ? {} : { body }),
    })
  }
  return fetch(`${api}${path}`, {
    method,
    headers: {
      ...headers,
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
}

/** `POST …/identity`, with the data plane's token (none: anonymous) and an optional body (a CSR). */
export function postIdentity(
  api: DataplaneApi,
  mesh: string,
  name: string,
  token: string | undefined,
  body?: unknown
): Promise<Response> {
  return call(api, 'POST', identityPath(mesh, name), { token, body })
}

/** `GET …/identity/stream`, which must answer 200; its events come through the reader. */
export async function openStream(
  api: DataplaneApi,
  mesh: string,
  name: string,
  token: string,
  headers: Record<string, string> = {}
): Promise<{ response: Response; events: SseReader }> {
  const response = await call(api, 'GET', `${identityPath(mesh, name)}/stream`, { token, headers })
  if (response.status !== 200) {
    throw new Error(`stream ${mesh}/${name}: ${response.status} ${await response.text()}`)
  }
  return { response, events: new SseReader(response) }
}
