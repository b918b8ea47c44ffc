/**
 * A small mesh on localhost for the agent's tests: a control plane process, application servers,
 * data plane tokens and identities from its API, and a client that keeps sending requests.
 */
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export { until } from '@meshca/test-support/dataplanes'

import { createServer as createNetServer } from 'node:net'

/** A port that was free a moment ago (the agent binds it next). */
export async function freePort(): Promise<number> {
  const server = createNetServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

export interface App {
  readonly port: number
  close(): Promise<void>
}

/** An HTTP application answering `<name>` (after `?delay=ms` when asked). */
export async function httpApp(name: string): Promise<App> {
  const server: Server = createServer((req, res) => {
    const delay = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('delay') ?? 0)
    setTimeout(() => res.end(name), delay)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

/** One HTTP GET on a new connection; the body, or the error's message prefixed with `ERR `. */
export function get(port: number, path = '/', timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          body += chunk
        })
        res.on('end', () => resolve(res.statusCode === 200 ? body : `ERR status ${res.statusCode}`))
        res.on('error', (error) => resolve(`ERR ${error.message}`))
      }
    )
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', (error) => resolve(`ERR ${error.message}`))
    req.end()
  })
}

/** Sends requests one after another until stopped; counts what came back right and what did not. */
export class SteadyClient {
  ok = 0
  readonly failures: string[] = []
  #running = true
  readonly #loop: Promise<void>

  constructor(port: number, expected: string, pauseMs = 10) {
    this.#loop = (async () => {
      while (this.#running) {
        const answer = await get(port)
        if (answer === expected) this.ok++
        else this.failures.push(`${new Date().toISOString()} ${answer}`)
        await new Promise((resolve) => setTimeout(resolve, pauseMs))
      }
    })()
  }

  async stop(): Promise<{ ok: number; failures: string[] }> {
    this.#running = false
    await this.#loop
    return { ok: this.ok, failures: this.failures }
  }
}

/** The admin API of a control plane from localhost (which is admin there). */
export class AdminApi {
  readonly url: string

  constructor(url: string) {
    this.url = url
  }

  async put(path: string, body: unknown): Promise<void> {
    const response = await fetch(`${this.url}${path}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    if (response.status !== 200 && response.status !== 201) {
      throw new Error(`PUT ${path}: ${response.status} ${await response.text()}`)
    }
  }

  async del(path: string): Promise<void> {
    const response = await fetch(`${this.url}${path}`, { method: 'DELETE' })
    if (response.status !== 200)
      throw new Error(`DELETE ${path}: ${response.status} ${await response.text()}`)
  }

  async get<T>(path: string): Promise<T> {
    const response = await fetch(`${this.url}${path}`)
    if (response.status !== 200)
      throw new Error(`GET ${path}: ${response.status} ${await response.text()}`)
    return (await response.json()) as T
  }

  async dataplaneToken(mesh: string, name: string, service: string): Promise<string> {
    const response = await fetch(`${this.url}/tokens/dataplane`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mesh, name, tags: { 'kuma.io/service': [service] }, validFor: '24h' }),
    })
    if (response.status !== 200)
      throw new Error(`token: ${response.status} ${await response.text()}`)
    return (await response.text()).trim()
  }

  /** Registers a Dataplane and returns an identity with a server-made key (for openssl). */
  async identity(mesh: string, name: string, service: string, port: number) {
    const token = await this.dataplaneToken(mesh, name, service)
    const response = await fetch(`${this.url}/meshes/${mesh}/dataplanes/${name}/identity`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ dataplane: dataplaneJson(mesh, name, service, port, 1) }),
    })
    if (response.status !== 200)
      throw new Error(`identity: ${response.status} ${await response.text()}`)
    return (await response.json()) as {
      certificateChain: string
      privateKey: string
      trustBundle: string
    }
  }
}

export function dataplaneJson(
  mesh: string,
  name: string,
  service: string,
  port: number,
  servicePort: number
) {
  return {
    type: 'Dataplane',
    mesh,
    name,
    networking: {
      address: '127.0.0.1',
      inbound: [{ port, servicePort, tags: { 'kuma.io/service': service, version: 'v1' } }],
    },
  }
}

/** A Dataplane YAML for `meshca-dp run`, with an outbound when `outbound` is given. */
export function dataplaneYaml(
  service: string,
  inbound: { port: number; servicePort: number },
  outbound?: { port: number; service: string }
): string {
  return [
    'type: Dataplane',
    'mesh: {{ mesh }}',
    'name: {{ name }}',
    'networking:',
    '  address: 127.0.0.1',
    '  inbound:',
    `    - port: ${inbound.port}`,
    `      servicePort: ${inbound.servicePort}`,
    '      tags:',
    `        kuma.io/service: ${service}`,
    '        version: v1',
    ...(outbound === undefined
      ? []
      : [
          '  outbound:',
          `    - port: ${outbound.port}`,
          '      tags:',
          `        kuma.io/service: ${outbound.service}`,
        ]),
    '',
  ].join('\n')
}
