/**
 * The data plane agent: registers its Dataplane, follows its identity and configuration streams,
 * and keeps its listeners as they say. A new identity applies to every new handshake at once while
 * open connections keep running; without the control plane it keeps serving with what it has
 * (until the certificate expires), reconnecting with back-off.
 */
import type { InboundConfig, Logger, OutboundConfig } from '@meshca/core-mtls'
import { Registry } from 'prom-client'
import { AdminServer } from './admin-server.ts'
import { AgentMetrics } from './agent-metrics.ts'
import {
  ControlPlaneApi,
  ControlPlaneError,
  type WireConfig,
  type WireIdentity,
} from './control-plane-api.ts'
import type { DataplaneFile } from './dataplane-file.ts'
import { ListenerSet } from './listener-set.ts'
import {
  DenialLog,
  InboundListener,
  OutboundListener,
  PeerUriCache,
  ProxyMetrics,
  TlsIdentity,
} from './proxy/index.ts'
import type { ServerEvent } from './sse-reader.ts'
import { pause, retryDelay, StreamFollower } from './stream-follower.ts'
import { generateWorkloadKey, type WorkloadKey } from './workload-key.ts'

export interface AgentOptions {
  readonly cpAddress: string
  readonly token: string
  readonly dataplane: DataplaneFile
  /** 0 for an ephemeral port; `undefined` for no admin port. */
  readonly adminPort?: number
  readonly adminAddress?: string
  readonly drainTimeMs: number
  readonly logger: Logger
}

/** A listener that could not bind is tried again this often. */
const RELISTEN_INTERVAL_MS = 5_000

export class DataplaneAgent {
  readonly registry = new Registry()
  readonly #options: AgentOptions
  readonly #logger: Logger
  readonly #api: ControlPlaneApi
  readonly #metrics: AgentMetrics
  readonly #tls = new TlsIdentity()
  readonly #inbounds: ListenerSet<InboundConfig, InboundListener>
  readonly #outbounds: ListenerSet<OutboundConfig>
  readonly #streams: StreamFollower[] = []
  readonly #stopping = new AbortController()
  #admin: AdminServer | undefined
  #key: WorkloadKey | undefined
  #identity: WireIdentity | undefined
  #config: WireConfig | undefined
  #applying: Promise<void> = Promise.resolve()
  #configured: (() => void) | undefined
  #relisten: ReturnType<typeof setInterval> | undefined
  #ready = false
  adminPort: number | undefined

  constructor(options: AgentOptions) {
    this.#options = options
    this.#logger = options.logger
    const { mesh, name } = options.dataplane
    this.#api = new ControlPlaneApi({
      baseUrl: options.cpAddress,
      token: options.token,
      mesh,
      name,
    })
    this.#metrics = new AgentMetrics(this.registry)
    const proxyMetrics = new ProxyMetrics(this.registry)
    // Shared by every listener: a peer's certificate is parsed once, refusals logged once.
    const context = {
      identity: this.#tls,
      metrics: proxyMetrics,
      logger: this.#logger,
      peers: new PeerUriCache(),
      denials: new DenialLog(this.#logger),
    }
    this.#inbounds = new ListenerSet(
      'inbound',
      (config) => InboundListener.listen({ ...context, config }),
      this.#logger
    )
    this.#outbounds = new ListenerSet(
      'outbound',
      (config) => OutboundListener.listen({ ...context, config }),
      this.#logger
    )
  }

  get ready(): boolean {
    return this.#ready && this.#inbounds.failed.length === 0 && this.#outbounds.failed.length === 0
  }

  /** Resolves once the agent serves: registered, with an identity and a configuration applied. */
  async start(): Promise<void> {
    const { dataplane, adminPort, adminAddress, logger } = this.#options
    this.#key = await generateWorkloadKey(dataplane.name)
    if (adminPort !== undefined) {
      this.#admin = new AdminServer(this.registry, {
        ready: () => this.ready,
        status: () => this.#status(),
      })
      this.adminPort = await this.#admin.listen(adminPort, adminAddress ?? '127.0.0.1')
    }
    if (!this.#applyIdentity(await this.#register())) {
      // With mTLS on and no identity an inbound would serve plaintext: better not to start at all.
      throw new Error('the control plane gave an identity this agent cannot use (see the log)')
    }
    const configured = new Promise<void>((resolve) => {
      this.#configured = resolve
    })
    this.#follow()
    await Promise.race([configured, this.#stopped()])
    if (this.#stopping.signal.aborted) return
    this.#relisten = setInterval(() => {
      if (this.#inbounds.failed.length + this.#outbounds.failed.length > 0 && this.#config) {
        this.#applyConfig(this.#config)
      }
    }, RELISTEN_INTERVAL_MS)
    this.#relisten.unref?.()
    this.#ready = true
    logger.log('info', 'data plane ready', {
      mesh: dataplane.mesh,
      dataplane: dataplane.name,
      admin: this.adminPort,
    })
  }

  /** SIGTERM: not ready at once, stop accepting, let connections finish up to the drain time. */
  async stop(): Promise<void> {
    if (this.#stopping.signal.aborted) return
    this.#ready = false
    this.#stopping.abort()
    clearInterval(this.#relisten)
    const { drainTimeMs, logger } = this.#options
    logger.log('info', 'draining', { drainMs: drainTimeMs })
    // A configuration being applied finishes first; what it opens is closed with the rest.
    await this.#applying
    await Promise.all([
      this.#inbounds.close(drainTimeMs),
      this.#outbounds.close(drainTimeMs),
      ...this.#streams.map((stream) => stream.stop()),
    ])
    await this.#admin?.close()
    logger.log('info', 'data plane stopped')
  }

  #stopped(): Promise<void> {
    const signal = this.#stopping.signal
    if (signal.aborted) return Promise.resolve()
    return new Promise((resolve) =>
      signal.addEventListener('abort', () => resolve(), { once: true })
    )
  }

  /** Registers, retrying what may pass (the control plane away, overloaded); not a refusal. */
  async #register(): Promise<WireIdentity> {
    const { dataplane, logger } = this.#options
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#api.register(
          dataplane.json,
          this.#workloadKey().csrPem,
          this.#stopping.signal
        )
      } catch (error) {
        if (error instanceof ControlPlaneError && error.permanent) throw error
        if (this.#stopping.signal.aborted) throw error
        const delay = retryDelay(attempt, error)
        logger.log('warn', 'could not register with the control plane, retrying', {
          error: error instanceof Error ? error.message : String(error),
          retryInMs: Math.round(delay),
        })
        await pause(delay, this.#stopping.signal)
      }
    }
  }

  #workloadKey(): WorkloadKey {
    if (this.#key === undefined) throw new Error('the workload key is made at start')
    return this.#key
  }

  #follow(): void {
    const { logger } = this.#options
    const reRegister = async () => {
      void this.#applyIdentity(await this.#register())
    }
    const csr = Buffer.from(this.#workloadKey().csrPem).toString('base64')
    const streams = [
      new StreamFollower({
        name: 'identity',
        open: (signal) => this.#api.open('identity', { 'x-meshca-csr': csr }, signal),
        onEvent: (event) => this.#onIdentityEvent(event),
        onNotRegistered: reRegister,
        onConnection: (up) => this.#metrics.streamConnected.set({ stream: 'identity' }, up ? 1 : 0),
        logger,
      }),
      new StreamFollower({
        name: 'config',
        open: (signal) => this.#api.open('config', {}, signal),
        onEvent: (event) => this.#onConfigEvent(event),
        onNotRegistered: reRegister,
        onConnection: (up) => this.#metrics.streamConnected.set({ stream: 'config' }, up ? 1 : 0),
        logger,
      }),
    ]
    this.#streams.push(...streams)
    for (const stream of streams) stream.start()
  }

  #onIdentityEvent(event: ServerEvent): void {
    if (event.event === 'identity') void this.#applyIdentity(JSON.parse(event.data) as WireIdentity)
    else if (event.event === 'error') {
      this.#logger.log('warn', 'the control plane reports an identity error', { error: event.data })
    }
  }

  #onConfigEvent(event: ServerEvent): void {
    if (event.event === 'config') this.#applyConfig(JSON.parse(event.data) as WireConfig)
    else if (event.event === 'error') {
      this.#logger.log('warn', 'the control plane reports a configuration error', {
        error: event.data,
      })
    }
  }

  /** Whether the identity is in use now; a refused one leaves the previous one in place. */
  #applyIdentity(identity: WireIdentity): boolean {
    const { certificateChain, trustBundle, backend, expiration } = identity
    if (identity.mode === 'DISABLED') {
      this.#tls.update(undefined)
      this.#metrics.certificateExpiration.set(0)
    } else if (certificateChain && trustBundle && backend && expiration) {
      const expires = new Date(expiration)
      try {
        this.#tls.update({
          certificateChain,
          privateKey: this.#workloadKey().privateKeyPem,
          trustBundle,
          mode: identity.mode,
          backend,
          expiration: expires,
          mesh: this.#options.dataplane.mesh,
        })
      } catch (error) {
        // The one in use stays: a bad identity must not take the data plane down.
        this.#logger.log('error', 'ignored an identity that node:tls refuses', {
          error: error instanceof Error ? error.message : String(error),
        })
        return false
      }
      this.#metrics.certificateExpiration.set(Math.floor(expires.getTime() / 1000))
    } else {
      this.#logger.log('error', 'ignored an identity without its certificate', {
        mode: identity.mode,
      })
      return false
    }
    this.#identity = identity
    // A switch to STRICT closes what only PERMISSIVE or mTLS off admitted.
    this.#inbounds.each((listener) => listener.reconcile())
    this.#metrics.rotations.inc()
    this.#logger.log('info', 'identity applied', { mode: identity.mode, backend, expiration })
    return true
  }

  #applyConfig(config: WireConfig): void {
    this.#config = config
    this.#applying = this.#applying
      .then(async () => {
        if (this.#stopping.signal.aborted) return
        await this.#inbounds.apply(config.inbounds)
        if (this.#stopping.signal.aborted) return
        await this.#outbounds.apply(config.outbounds)
        this.#metrics.configUpdates.inc()
        this.#logger.log('debug', 'configuration applied', { version: config.version })
        this.#configured?.()
      })
      .catch((error: unknown) => {
        // One configuration that cannot be applied must not keep the next ones from applying.
        this.#logger.log('error', 'could not apply the configuration', {
          version: config.version,
          error: error instanceof Error ? error.message : String(error),
        })
      })
  }

  #status(): unknown {
    const identity = this.#identity
    return {
      ready: this.ready,
      identity:
        identity === undefined
          ? null
          : {
              mode: identity.mode,
              backend: identity.backend,
              supportedBackends: identity.supportedBackends,
              expiration: identity.expiration,
              rotateAt: identity.rotateAt,
            },
      config: this.#config ?? null,
      failedListeners: [...this.#inbounds.failed, ...this.#outbounds.failed],
    }
  }
}
