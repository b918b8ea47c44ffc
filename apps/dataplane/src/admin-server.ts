/**
 * The agent's admin port: `/ready` (200 once it serves with an identity and a configuration, 503
 * before and while draining), `/metrics` (Prometheus), `/config` (what it serves, without keys).
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Registry } from 'prom-client'

export interface AdminState {
  ready(): boolean
  /** The configuration and certificate the agent serves with; never key material. */
  status(): unknown
}

export class AdminServer {
  readonly #server: Server

  constructor(registry: Registry, state: AdminState) {
    this.#server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0]
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { allow: 'GET, HEAD' }).end()
        return
      }
      if (path === '/ready') {
        const ready = state.ready()
        response.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' })
        response.end(ready ? 'READY\n' : 'NOT READY\n')
      } else if (path === '/metrics') {
        registry.metrics().then(
          (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
          () => response.writeHead(500).end()
        )
      } else if (path === '/config') {
        response.writeHead(200, { 'content-type': 'application/json' })
        response.end(`${JSON.stringify(state.status(), null, 2)}\n`)
      } else {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
      }
    })
    // Slow or idle clients must not hold sockets: this port is for probes and scrapes.
    this.#server.requestTimeout = 10_000
    this.#server.headersTimeout = 5_000
  }

  async listen(port: number, address: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen(port, address, () => {
        this.#server.off('error', reject)
        resolve()
      })
    })
    return (this.#server.address() as AddressInfo).port
  }

  close(): Promise<void> {
    this.#server.closeAllConnections?.()
    return new Promise((resolve) => this.#server.close(() => resolve()))
  }
}
