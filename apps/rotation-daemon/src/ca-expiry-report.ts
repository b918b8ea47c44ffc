import {
  type CaBackendRegistry,
  type Clock,
  caBackendFor,
  type Logger,
  type MeshcaCore,
  meshIsStored,
  type Resource,
  type Store,
} from '@meshca/core-mtls'
import type { Observed, StepFailures } from './daemon-metrics.ts'

/** A CA warning is repeated at most this often, so that the log is not flooded every tick. */
const WARNING_REPEAT_MS = 24 * 3600_000

export interface CaExpiryReportOptions {
  readonly core: MeshcaCore
  readonly store: Store
  readonly caBackends: CaBackendRegistry
  readonly clock: Clock
  readonly logger: Logger
  readonly failures: StepFailures
  readonly warningMs: number
}

/** Each CA backend's end, as a metric on every instance and as a warning from the leader. */
export class CaExpiryReport {
  readonly #options: CaExpiryReportOptions
  /** When each (mesh, backend, notAfter) was last warned about. */
  readonly #warnedAt = new Map<string, number>()

  constructor(options: CaExpiryReportOptions) {
    this.#options = options
  }

  /**
   * Returns how many warnings it logged, and whether the mesh turned out to be gone (the backends
   * after that one are not looked at).
   */
  async report(
    mesh: Resource<'Mesh'>,
    leader: boolean,
    observed: Observed
  ): Promise<{ readonly warnings: number; readonly deleted: boolean }> {
    const { core, store, caBackends, failures } = this.#options
    let warnings = 0
    for (const backend of mesh.spec.mtls?.backends ?? []) {
      let notAfter: Date
      try {
        const loaded = await caBackendFor(caBackends, backend.type).load(
          core.ctx,
          mesh.name,
          backend
        )
        notAfter = loaded.validity.notAfter
      } catch (error) {
        // The delete's cascade took the CA since the tick listed the mesh.
        if (!(await meshIsStored(store, mesh.name))) return { warnings, deleted: true }
        // Expired or broken CA material: loading refuses it. Leaders say so; every tick until fixed.
        if (leader) failures.fail('load CA', error, { mesh: mesh.name, backend: backend.name })
        continue
      }
      observed.caExpiry.push([
        { mesh: mesh.name, backend: backend.name },
        Math.floor(notAfter.getTime() / 1000),
      ])
      if (leader && this.#warn(mesh.name, backend.name, notAfter)) warnings++
    }
    return { warnings, deleted: false }
  }

  /** Logs a warning when the CA ends within the warning period and was not warned of lately. */
  #warn(mesh: string, backend: string, notAfter: Date): boolean {
    const { clock, logger, warningMs } = this.#options
    const now = clock.now().getTime()
    const left = notAfter.getTime() - now
    if (left > warningMs) return false
    const key = `${mesh}\u0000${backend}\u0000${notAfter.getTime()}`
    const last = this.#warnedAt.get(key)
    if (last !== undefined && now - last < WARNING_REPEAT_MS) return false
    this.#warnedAt.set(key, now)
    logger.log('warn', 'CA certificate expires soon: add a new backend and switch to it', {
      mesh,
      backend,
      notAfter: notAfter.toISOString(),
      daysLeft: Math.floor(left / (24 * 3600_000)),
    })
    return true
  }
}
