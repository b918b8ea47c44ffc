/**
 * The data plane configuration stream (`GET …/config/stream`): what each connected data plane needs
 * to serve besides its identity (docs/api.md, "Data plane configuration"). A change of the mesh's
 * Mesh, TrafficPermissions, Dataplanes or DataplaneInsights (online, offline, certificate backend)
 * reloads the mesh once, after `CONFIG_DEBOUNCE_MS`, and every subscriber of the mesh whose
 * configuration changed gets it, whole. The control plane stays the only writer: this only reads.
 */
import { createHash } from 'node:crypto'
import {
  type Clock,
  type DataplaneConfig,
  type DataplaneSpec,
  dataplaneConfig,
  indexMesh,
  type Logger,
  type MeshcaCore,
  MeshcaError,
  type MeshIndex,
  type Store,
  type Unsubscribe,
} from '@meshca/core-mtls'
import { type LoadedMeshView, loadMeshView } from './mesh-view.ts'
import { type EventSink, SessionOutbox } from './session-outbox.ts'
import { type Cancelable, timerAfter, timerAt } from './timer-at.ts'

/** Writes arrive in bursts (a mesh change re-issues every identity): they are handled as one. */
export const CONFIG_DEBOUNCE_MS = 200
/** How long a data plane whose stream ended still counts as online. */
export const DEFAULT_OFFLINE_GRACE_MS = 15_000

/** What the stream and `GET …/config` send: the configuration and a version naming it. */
export interface VersionedConfig extends DataplaneConfig {
  /** Changes whenever anything else does. */
  readonly version: string
}

export function versioned(config: DataplaneConfig): VersionedConfig {
  const version = createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 16)
  return { version, ...config }
}

export interface ConfigSubscription {
  attach(sink: EventSink): void
  readonly ended: Promise<void>
  stop(): void
}

export interface ConfigFeedOptions {
  readonly core: MeshcaCore
  readonly watch: Store['watch'] | undefined
  readonly logger: Logger
  readonly clock: Clock
  readonly heartbeatIntervalMs: number
  readonly offlineGraceMs?: number
}

class ConfigSubscriber {
  readonly mesh: string
  readonly name: string
  readonly outbox: SessionOutbox
  lastVersion: string | undefined
  /** The load the last configuration came from: an older load that ends later must not win. */
  lastLoad = 0
  readonly ended: Promise<void>
  #end: () => void = () => {}

  constructor(mesh: string, name: string, heartbeatIntervalMs: number) {
    this.mesh = mesh
    this.name = name
    this.ended = new Promise((resolve) => {
      this.#end = resolve
    })
    this.outbox = new SessionOutbox(heartbeatIntervalMs, () => this.close())
  }

  push(config: VersionedConfig, load: number): void {
    if (load < this.lastLoad) return
    this.lastLoad = load
    if (config.version === this.lastVersion) return
    this.lastVersion = config.version
    this.outbox.enqueue('config', JSON.stringify(config))
  }

  async endWith(error: MeshcaError): Promise<void> {
    await this.outbox.sendLast(
      'error',
      JSON.stringify({ title: 'Data plane configuration', details: error.message })
    )
    this.close()
  }

  close(): void {
    this.outbox.close()
    this.#end()
  }
}

interface MeshFeed {
  readonly subscribers: Set<ConfigSubscriber>
  /** A reload is scheduled. */
  pending: Cancelable | undefined
  /** The reload running now; another waits for it. */
  running: Promise<void> | undefined
  graceTimer: Cancelable | undefined
  /** When the armed grace timer fires (epoch ms). */
  graceEndsAt: number | undefined
}

export class ConfigFeed {
  readonly #options: ConfigFeedOptions
  readonly #meshes = new Map<string, MeshFeed>()
  readonly #offlineGraceMs: number
  /**
   * The newest load of each mesh while it runs: subscribers arriving meanwhile (a reconnect storm)
   * share it rather than each reading the whole mesh.
   */
  readonly #loading = new Map<string, Promise<MeshLoad>>()
  #loads = 0
  #unsubscribe: Unsubscribe | undefined
  #closed = false

  constructor(options: ConfigFeedOptions) {
    this.#options = options
    this.#offlineGraceMs = options.offlineGraceMs ?? DEFAULT_OFFLINE_GRACE_MS
  }

  /** The configuration of one data plane now; NOT_FOUND when it or its mesh is gone. */
  async current(mesh: string, name: string): Promise<VersionedConfig> {
    return configIn((await this.#shared(mesh)).indexed, mesh, name)
  }

  /**
   * Subscribes to the configuration of a data plane: its current one is queued at once (failing
   * here, before any stream starts, when it cannot be built), then each new one. `attach` starts
   * writing them; `ended` resolves when the subscription ends (`stop`, the data plane or mesh
   * deleted, the feed closed).
   */
  async subscribe(mesh: string, name: string): Promise<ConfigSubscription> {
    if (this.#closed) {
      throw new MeshcaError('STORE_UNAVAILABLE', 'the control plane is shutting down')
    }
    this.#start()
    const subscriber = new ConfigSubscriber(mesh, name, this.#options.heartbeatIntervalMs)
    const feed = this.#feedOf(mesh)
    feed.subscribers.add(subscriber)
    void subscriber.ended.then(() => this.#forget(subscriber))
    try {
      const load = await this.#shared(mesh)
      this.#armGrace(mesh, load)
      subscriber.push(configIn(load.indexed, mesh, name), load.seq)
    } catch (error) {
      subscriber.close()
      throw error
    }
    return {
      attach: (sink) => subscriber.outbox.attach(sink),
      ended: subscriber.ended,
      stop: () => subscriber.close(),
    }
  }

  get size(): number {
    let count = 0
    for (const feed of this.#meshes.values()) count += feed.subscribers.size
    return count
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#unsubscribe?.()
    for (const feed of this.#meshes.values()) {
      feed.pending?.cancel()
      feed.graceTimer?.cancel()
      for (const subscriber of feed.subscribers) subscriber.close()
    }
    this.#meshes.clear()
  }

  #start(): void {
    const { watch } = this.#options
    if (this.#unsubscribe !== undefined || watch === undefined) return
    this.#unsubscribe = watch(
      (event) => {
        const mesh = event.key.type === 'Mesh' ? event.key.name : event.key.mesh
        if (this.#meshes.has(mesh)) this.#schedule(mesh, CONFIG_DEBOUNCE_MS)
      },
      { types: ['Mesh', 'TrafficPermission', 'Dataplane', 'DataplaneInsight'] }
    )
  }

  #feedOf(mesh: string): MeshFeed {
    let feed = this.#meshes.get(mesh)
    if (feed === undefined) {
      feed = {
        subscribers: new Set(),
        pending: undefined,
        running: undefined,
        graceTimer: undefined,
        graceEndsAt: undefined,
      }
      this.#meshes.set(mesh, feed)
    }
    return feed
  }

  #forget(subscriber: ConfigSubscriber): void {
    const feed = this.#meshes.get(subscriber.mesh)
    if (feed === undefined) return
    feed.subscribers.delete(subscriber)
    if (feed.subscribers.size > 0) return
    feed.pending?.cancel()
    feed.graceTimer?.cancel()
    this.#meshes.delete(subscriber.mesh)
  }

  #schedule(mesh: string, delayMs: number): void {
    const feed = this.#meshes.get(mesh)
    if (feed === undefined || feed.pending !== undefined) return
    feed.pending = timerAfter(delayMs, () => {
      feed.pending = undefined
      // One reload of a mesh at a time: the next waits for the one running.
      feed.running = (feed.running ?? Promise.resolve()).then(() => this.#reload(mesh, feed))
    })
  }

  async #reload(mesh: string, feed: MeshFeed): Promise<void> {
    if (this.#meshes.get(mesh) !== feed || feed.subscribers.size === 0) return
    try {
      // A fresh load, never a shared one: it must see the write that scheduled it.
      const load = await this.#load(mesh)
      if (load.indexed === undefined) {
        const gone = new MeshcaError('NOT_FOUND', `the mesh "${mesh}" was deleted`)
        await Promise.all([...feed.subscribers].map((s) => s.endWith(gone)))
        return
      }
      this.#armGrace(mesh, load)
      for (const subscriber of [...feed.subscribers]) {
        try {
          subscriber.push(configIn(load.indexed, mesh, subscriber.name), load.seq)
        } catch (error) {
          if (error instanceof MeshcaError) void subscriber.endWith(error)
          else throw error
        }
      }
    } catch (error) {
      this.#options.logger.log('error', 'could not reload the data plane configuration', {
        mesh,
        error: error instanceof Error ? error.message : String(error),
      })
      // Try again: a store that failed once usually answers a moment later.
      this.#schedule(mesh, 1_000)
    }
  }

  /** Reloads the mesh when the first data plane within its offline grace stops counting. */
  #armGrace(mesh: string, load: MeshLoad): void {
    const feed = this.#meshes.get(mesh)
    if (feed === undefined || load.graceEndsAt === undefined) return
    if (feed.graceEndsAt !== undefined && feed.graceEndsAt <= load.graceEndsAt) return
    feed.graceTimer?.cancel()
    feed.graceEndsAt = load.graceEndsAt
    const now = () => this.#options.clock.now().getTime()
    feed.graceTimer = timerAt(load.graceEndsAt + 1, now, () => {
      feed.graceTimer = undefined
      feed.graceEndsAt = undefined
      this.#schedule(mesh, 0)
    })
  }

  /** The load of the mesh running now, or a new one. */
  #shared(mesh: string): Promise<MeshLoad> {
    return this.#loading.get(mesh) ?? this.#load(mesh)
  }

  #load(mesh: string): Promise<MeshLoad> {
    const seq = ++this.#loads
    const now = this.#options.clock.now().getTime()
    const load = loadMeshView(this.#options.core, mesh, now, this.#offlineGraceMs).then(
      (loaded): MeshLoad => ({
        seq,
        indexed: indexLoaded(loaded),
        ...(loaded?.graceEndsAt === undefined ? {} : { graceEndsAt: loaded.graceEndsAt }),
      })
    )
    this.#loading.set(mesh, load)
    const done = () => {
      if (this.#loading.get(mesh) === load) this.#loading.delete(mesh)
    }
    load.then(done, done)
    return load
  }
}

/** One read of a mesh, numbered in the order the reads started. */
interface MeshLoad {
  readonly seq: number
  /** `undefined`: the mesh does not exist. */
  readonly indexed: IndexedMesh | undefined
  readonly graceEndsAt?: number
}

interface IndexedMesh {
  readonly index: MeshIndex
  readonly specs: ReadonlyMap<string, DataplaneSpec>
}

/** Indexed once per reload, shared by every data plane of the mesh. */
function indexLoaded(loaded: LoadedMeshView | undefined): IndexedMesh | undefined {
  if (loaded === undefined) return undefined
  return {
    index: indexMesh(loaded.view),
    specs: new Map(loaded.view.members.map((member) => [member.name, member.spec])),
  }
}

function configIn(indexed: IndexedMesh | undefined, mesh: string, name: string): VersionedConfig {
  if (indexed === undefined) {
    throw new MeshcaError('NOT_FOUND', `the mesh "${mesh}" does not exist`)
  }
  const spec = indexed.specs.get(name)
  if (spec === undefined) throw new MeshcaError('NOT_FOUND', `the Dataplane "${name}" was deleted`)
  return versioned(dataplaneConfig(indexed.index, name, spec))
}
