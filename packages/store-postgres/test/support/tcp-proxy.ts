/**
 * A TCP proxy in front of the test server, to make "the database went away" happen for one store
 * only: `cut()` drops every connection through it and stops listening, so that new connections are
 * refused as by a server that is down; `restore()` listens again on the same port. `freeze()` makes
 * a silent network failure instead.
 */
import type { Socket } from 'node:net'
import { connect, createServer } from 'node:net'

export interface TcpProxy {
  /** The server URL with the proxy's port in place of the server's. */
  readonly url: string
  cut(): Promise<void>
  restore(): Promise<void>
  /**
   * Stops forwarding on the open connections, closes included: neither side hears from the other
   * again, as across a cable that was pulled. New connections still go through.
   */
  freeze(): void
  close(): Promise<void>
}

interface Pair {
  readonly client: Socket
  readonly upstream: Socket
  frozen: boolean
}

export async function startTcpProxy(serverUrl: string): Promise<TcpProxy> {
  const target = new URL(serverUrl)
  const targetPort = Number(target.port || 5432)
  const targetHost = target.hostname
  const pairs = new Set<Pair>()
  let down = false

  const server = createServer((client) => {
    if (down) {
      client.destroy()
      return
    }
    const pair: Pair = { client, upstream: connect(targetPort, targetHost), frozen: false }
    const { upstream } = pair
    pairs.add(pair)
    const drop = () => {
      pairs.delete(pair)
      // A frozen link carries no close either: the server keeps its session.
      if (pair.frozen) return
      client.destroy()
      upstream.destroy()
    }
    client.on('error', drop)
    upstream.on('error', drop)
    client.on('close', drop)
    upstream.on('close', drop)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
  await listen(0)
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const url = new URL(serverUrl)
  url.hostname = '127.0.0.1'
  url.port = String(port)
  const frozenSockets = new Set<Socket>()

  function destroyAll(): void {
    for (const pair of pairs) {
      pair.frozen = false
      pair.client.destroy()
      pair.upstream.destroy()
    }
    pairs.clear()
    for (const socket of frozenSockets) socket.destroy()
    frozenSockets.clear()
  }

  return {
    url: url.toString(),
    async cut() {
      down = true
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      destroyAll()
      await closed
    },
    async restore() {
      down = false
      await listen(port)
    },
    freeze() {
      for (const pair of pairs) {
        pair.frozen = true
        pair.client.unpipe(pair.upstream)
        pair.upstream.unpipe(pair.client)
        pair.client.pause()
        pair.upstream.pause()
        frozenSockets.add(pair.client)
        frozenSockets.add(pair.upstream)
      }
      pairs.clear()
    },
    close() {
      down = true
      destroyAll()
      if (!server.listening) return Promise.resolve()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
