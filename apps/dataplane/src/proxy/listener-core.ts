/**
 * What an inbound and an outbound listener share: the listening socket on the configuration's
 * address, the listener's name and metrics, refusal logging, the peer certificate cache, timeouts,
 * and the open sockets a drain waits for.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { type Logger, silentLogger } from '@meshca/core-mtls'
import { DenialLog } from './denial-log.ts'
import { PeerUriCache } from './peer-uris.ts'
import { ignoreErrors, SocketSet } from './pipe.ts'
import type { Direction, ListenerMetrics, ProxyMetrics } from './proxy-metrics.ts'
import { DEFAULT_TIMEOUTS, type ProxyTimeouts } from './timeouts.ts'
import type { TlsIdentity } from './tls-identity.ts'

export interface ListenerOptions {
  readonly identity: TlsIdentity
  readonly metrics: ProxyMetrics
  /** Refusals are logged through it, rate-limited; default: a `DenialLog` on `logger`. */
  readonly denials?: DenialLog
  readonly logger?: Logger
  /** Shared by the listeners of an agent so a peer's certificate is parsed once. */
  readonly peers?: PeerUriCache
  readonly timeouts?: Partial<ProxyTimeouts>
}

export interface DrainOptions {
  /** How long open connections may go on; then they are destroyed. Default 0. */
  readonly drainMs?: number
}

interface Listening {
  readonly address: string
  readonly port: number
}

export class ListenerCore {
  readonly name: string
  readonly server: Server
  readonly metrics: ListenerMetrics
  readonly denials: DenialLog
  readonly peers: PeerUriCache
  readonly timeouts: ProxyTimeouts
  readonly sockets = new SocketSet()

  private constructor(
    server: Server,
    direction: Direction,
    name: string,
    options: ListenerOptions
  ) {
    this.server = server
    this.name = name
    this.metrics = options.metrics.listener(direction, name)
    this.denials = options.denials ?? new DenialLog(options.logger ?? silentLogger)
    this.peers = options.peers ?? new PeerUriCache()
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts }
  }

  /** Listens on `config.address:config.port` (port 0: any free port, see `port`). */
  static async open(
    direction: Direction,
    config: Listening,
    options: ListenerOptions
  ): Promise<ListenerCore> {
    const server = createServer({ allowHalfOpen: true })
    const port = await listenOn(server, config.address, config.port)
    return new ListenerCore(server, direction, `${direction}:${config.address}:${port}`, options)
  }

  /**
   * Hands each accepted connection to `accept`, counted, tracked for the drain and safe from
   * unhandled socket errors. Called right after `open`: no connection is dispatched in between.
   */
  serve(accept: (socket: Socket) => void): void {
    this.server.on('connection', (socket: Socket) => {
      socket.on('error', ignoreErrors)
      socket.setNoDelay(true)
      this.sockets.add(socket)
      this.metrics.opened()
      socket.once('close', () => this.metrics.closed())
      accept(socket)
    })
  }

  get port(): number {
    return (this.server.address() as { port: number }).port
  }

  /** A listener keeps its address for life: a new one needs a new listener. */
  checkSameAddress(current: Listening, next: Listening): void {
    if (next.address !== current.address || next.port !== current.port) {
      throw new Error(`${this.name}: a new address needs a new listener`)
    }
  }

  /** Stops accepting now, lets open connections run up to `drainMs`, then destroys the rest. */
  async close({ drainMs = 0 }: DrainOptions = {}): Promise<void> {
    this.server.close()
    await this.sockets.drain(drainMs)
  }
}

/** `server.listen`, as a promise of the port it got. */
export function listenOn(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host, port }, () => {
      server.removeListener('error', reject)
      server.on('error', ignoreErrors)
      resolve((server.address() as { port: number }).port)
    })
  })
}
