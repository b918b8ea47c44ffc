/**
 * Relaying bytes between two sockets, and the set of a listener's open sockets that a drain waits
 * for. The relay is `stream.pipe` both ways: backpressure, and an `end` from one side ends the
 * other's writing only (half-close), so a client that ends its request still reads the answer.
 */
import type { Socket } from 'node:net'

/** Swallows a socket's errors until the relay takes over: an unhandled one kills the process. */
export function ignoreErrors(): void {}

/**
 * Relays `downstream` and `upstream` until both are closed, then calls `done` (which reads the byte
 * counts of the sockets: no per-chunk work). An error on either side destroys both.
 */
export function relay(downstream: Socket, upstream: Socket, done: () => void): void {
  let open = 2
  const destroyBoth = () => {
    downstream.destroy()
    upstream.destroy()
  }
  const closed = (other: Socket) => () => {
    // A side closed cleanly has read its peer's end and flushed its own; the other side ends its
    // writing and goes once that is flushed, rather than lingering half-open with no reader.
    if (!other.destroyed) other.end(() => other.destroy())
    open -= 1
    if (open === 0) done()
  }
  downstream.on('error', destroyBoth)
  upstream.on('error', destroyBoth)
  downstream.once('close', closed(upstream))
  upstream.once('close', closed(downstream))
  downstream.pipe(upstream)
  upstream.pipe(downstream)
}

/** A listener's open sockets: `close` waits for them, then destroys those left after the bound. */
export class SocketSet {
  readonly #sockets = new Set<Socket>()
  #idle: (() => void) | undefined

  add(socket: Socket): void {
    this.#sockets.add(socket)
    socket.once('close', () => {
      this.#sockets.delete(socket)
      if (this.#sockets.size === 0) this.#idle?.()
    })
  }

  get size(): number {
    return this.#sockets.size
  }

  /** Resolves once every socket is closed; those still open after `drainMs` are destroyed. */
  drain(drainMs: number): Promise<void> {
    if (this.#sockets.size === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        for (const socket of this.#sockets) socket.destroy()
      }, drainMs)
      this.#idle = () => {
        clearTimeout(timer)
        this.#idle = undefined
        resolve()
      }
    })
  }
}
