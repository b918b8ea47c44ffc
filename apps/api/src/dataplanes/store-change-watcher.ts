/**
 * Turns the store's change events into re-issues of the sessions they concern. A Mesh and the
 * Secrets written for it arrive as several events: they are gathered for a moment and handled as
 * one change, a mesh's re-issues spread over `reissueWindowMs` so that a fleet does not hit the
 * signer at the same instant.
 */
import {
  type Logger,
  type MeshcaCore,
  MeshcaError,
  type Random,
  type Store,
  type StoreEvent,
  type Unsubscribe,
} from '@meshca/core-mtls'
import { mtlsKey } from './issuance-queue.ts'
import type { MeshEpochs } from './mesh-epochs.ts'
import {
  dataplaneChangeOutcome,
  selectMeshReissues,
  storeChangeOf,
  TAGS_CHANGED,
} from './reissue-selection.ts'
import { dataplaneKey, type SessionRegistry } from './session-registry.ts'
import type { StreamSession } from './stream-session.ts'
import { timerAfter } from './timer-at.ts'

/** A Mesh and the Secrets written for it arrive as several events: they are handled as one. */
const CHANGE_DEBOUNCE_MS = 100

export interface StoreChangeWatcherOptions {
  readonly core: MeshcaCore
  /** Store change events (Mesh, Secret, Dataplane); without them only rotation re-issues. */
  readonly watch: Store['watch'] | undefined
  readonly sessions: SessionRegistry<StreamSession>
  readonly epochs: MeshEpochs
  readonly logger: Logger
  readonly random: Random
  readonly reissueWindowMs: number
}

export class StoreChangeWatcher {
  readonly #options: StoreChangeWatcherOptions
  /** The changed Secrets of each mesh with a change pending. */
  readonly #pendingMeshes = new Map<string, Set<string>>()
  readonly #pendingDataplanes = new Set<string>()
  /** The `Mesh.mtls` the watch last saw, per mesh. */
  readonly #watchedMtls = new Map<string, string>()
  #unsubscribe: Unsubscribe | undefined

  constructor(options: StoreChangeWatcherOptions) {
    this.#options = options
  }

  /** Subscribes to the store, once. */
  start(): void {
    const { watch } = this.#options
    if (this.#unsubscribe !== undefined || watch === undefined) return
    this.#unsubscribe = watch((event) => this.#onStoreEvent(event), {
      types: ['Mesh', 'Secret', 'Dataplane'],
    })
  }

  stop(): void {
    this.#unsubscribe?.()
    this.#unsubscribe = undefined
  }

  #onStoreEvent(event: StoreEvent): void {
    const change = storeChangeOf(event, this.#options.sessions)
    if (change?.kind === 'mesh') this.#noteMeshChange(change.mesh, change.secret)
    else if (change?.kind === 'dataplane') this.#noteDataplaneChange(change.mesh, change.name)
  }

  #noteMeshChange(mesh: string, secret?: string): void {
    let secrets = this.#pendingMeshes.get(mesh)
    if (secrets === undefined) {
      const pending = new Set<string>()
      secrets = pending
      this.#pendingMeshes.set(mesh, pending)
      timerAfter(CHANGE_DEBOUNCE_MS, () => {
        this.#pendingMeshes.delete(mesh)
        void this.#handleMeshChange(mesh, pending)
      })
    }
    if (secret !== undefined) secrets.add(secret)
  }

  async #handleMeshChange(meshName: string, secrets: ReadonlySet<string>): Promise<void> {
    const { core, sessions, epochs, logger, random, reissueWindowMs } = this.#options
    try {
      const mesh = await core.meshes.get(meshName)
      if (mesh === undefined) {
        this.#watchedMtls.delete(meshName)
        const gone = new MeshcaError('NOT_FOUND', `the mesh "${meshName}" was deleted`)
        await Promise.all(sessions.inMesh(meshName).map((s) => s.end(gone)))
        return
      }
      const key = mtlsKey(mesh.spec)
      const caSecretChanged = await this.#usesCaSecret(meshName, secrets)
      const { targets, advanceEpoch, reason } = selectMeshReissues(sessions.inMesh(meshName), {
        mesh: meshName,
        mtlsKey: key,
        lastSeenMtlsKey: this.#watchedMtls.get(meshName),
        caSecretChanged,
      })
      if (advanceEpoch) epochs.advance(meshName)
      this.#watchedMtls.set(meshName, key)
      if (targets.length === 0) return
      logger.log('info', 'reissuing data plane identities', {
        mesh: meshName,
        dataplanes: targets.length,
        reason,
        windowMs: reissueWindowMs,
      })
      const epoch = epochs.of(meshName)
      for (const session of targets) {
        session.scheduleReissue(random.unit() * reissueWindowMs, reason, epoch)
      }
    } catch (error) {
      logger.log('error', 'could not handle a mesh change', {
        mesh: meshName,
        error: error instanceof Error ? error.message : String(error),
      })
    }
  }

  /** Whether a CA backend of the mesh uses one of `secrets`. */
  async #usesCaSecret(mesh: string, secrets: ReadonlySet<string>): Promise<boolean> {
    let used = false
    for (const secret of secrets) {
      if ((await this.#options.core.meshes.secretGuard.usage(mesh, secret)) !== undefined) {
        used = true
      }
    }
    return used
  }

  #noteDataplaneChange(mesh: string, name: string): void {
    const key = dataplaneKey(mesh, name)
    if (this.#pendingDataplanes.has(key)) return
    this.#pendingDataplanes.add(key)
    timerAfter(CHANGE_DEBOUNCE_MS, () => {
      this.#pendingDataplanes.delete(key)
      void this.#handleDataplaneChange(mesh, name)
    })
  }

  async #handleDataplaneChange(mesh: string, name: string): Promise<void> {
    const { core, sessions, logger } = this.#options
    const affected = sessions.ofDataplane(mesh, name)
    if (affected.length === 0) return
    try {
      const stored = await core.resources.get('Dataplane', mesh, name)
      if (stored === undefined) {
        const gone = new MeshcaError('NOT_FOUND', `the Dataplane "${name}" was deleted`)
        await Promise.all(affected.map((s) => s.end(gone)))
        return
      }
      for (const session of affected) {
        const outcome = dataplaneChangeOutcome(session, mesh, name, stored.spec)
        if (outcome.end) {
          void session.end(outcome.error)
          continue
        }
        session.useDataplane(stored.spec)
        if (outcome.reissue) session.scheduleReissue(0, TAGS_CHANGED)
      }
    } catch (error) {
      logger.log('error', 'could not handle a Dataplane change', {
        mesh,
        dataplane: name,
        error: error instanceof Error ? error.message : String(error),
      })
    }
  }
}
