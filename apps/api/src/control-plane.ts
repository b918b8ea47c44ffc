/**
 * Everything a control plane process does before and after serving: data directory, encryption key,
 * store, signer, core, tokens, the `default` mesh, the bootstrap admin token, this instance's
 * liveness heartbeat, the metrics and (by default) the rotation daemon; and closing it all again.
 * The entry files add the listening sockets and signal handling.
 */
import { mkdir } from 'node:fs/promises'
import { hostname } from 'node:os'
import {
  createDataplaneTokens,
  createInlineSigner,
  createMeshcaCore,
  createUserTokens,
  type InstanceRegistry,
  isMeshcaError,
  type Logger,
  type MeshcaCore,
  type Signer,
  silentLogger,
} from '@meshca/core-mtls'
import {
  DEFAULT_LATENCY_BUCKETS_SECONDS,
  type RotationDaemon,
  startRotationDaemon,
} from '@meshca/rotation-daemon'
import type { Hono } from 'hono'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { ensureAdminToken } from './admin-token.ts'
import { createApp } from './app.ts'
import { readCaFile } from './ca-files.ts'
import type { ApiConfig } from './config.ts'
import type { AppEnv } from './context.ts'
import { createDataplaneSessions, type DataplaneSessions } from './dataplanes/dataplane-sessions.ts'
import type { IssuanceObserver } from './dataplanes/issuance-queue.ts'
import { loadEncryptionKey } from './encryption-key.ts'
import { createMetricsApp } from './metrics-app.ts'
import type { RemoteAddress } from './middleware/authenticate.ts'
import { type OpenedStore, openStore } from './store.ts'
import { SYSTEM_SECRETS_MESH } from './system-secrets.ts'

/** How often this instance tells the store it is alive; the daemon gives up on it after three misses. */
export const INSTANCE_HEARTBEAT_MS = 5000

export interface ControlPlaneOptions {
  readonly logger?: Logger
  /** Default: what `config.signer` names. Closed with the control plane. */
  readonly signer?: Signer
  readonly remoteAddress?: RemoteAddress
}

export interface ControlPlane {
  readonly app: Hono<AppEnv>
  readonly core: MeshcaCore
  readonly adminTokenPath: string
  /** `controlPlaneInstanceId` of the data plane subscriptions this process serves. */
  readonly instanceId: string
  readonly dataplaneSessions: DataplaneSessions
  /** Prometheus metrics of this process (issuance, signer, and the daemon's when it runs here). */
  readonly metrics: Registry
  /** `/metrics` on a port of its own; the entries serve it when `config.metricsPort` is set. */
  readonly metricsApp: Hono
  /** The rotation daemon running in this process, when `config.daemon`. */
  readonly daemon: RotationDaemon | undefined
  /**
   * Ends every data plane stream (their insights marked disconnected). Call before stopping the
   * server: streams never finish by themselves, and the data planes reconnect elsewhere.
   */
  endDataplaneStreams(): Promise<void>
  /** Ends the streams, closes the store and the signer; call once the server stopped accepting requests. */
  close(): Promise<void>
}

/** Kuma's instance ids are the host name and a random suffix: readable, and unique per process. */
function newInstanceId(): string {
  return `${hostname()}-${globalThis.crypto.randomUUID().slice(0, 8)}`
}

export async function startControlPlane(
  config: ApiConfig,
  options: ControlPlaneOptions = {}
): Promise<ControlPlane> {
  const logger = options.logger ?? silentLogger
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 })
  const encryptionKey = await loadEncryptionKey(config.secretKey, logger)
  const metrics = new Registry()
  const signer = options.signer ?? (await createConfiguredSigner(config, metrics))
  let opened: OpenedStore | undefined
  let heartbeat: ReturnType<typeof setInterval> | undefined
  let daemon: RotationDaemon | undefined
  try {
    opened = await openStore(config, logger)
    const { store, instances } = opened
    logger.log('info', 'store open', {
      store: config.store,
      ...(config.store === 'postgres' ? {} : { dataDir: config.dataDir }),
    })
    const core = createMeshcaCore({
      store,
      signer,
      encryptionKey,
      logger,
      ...(config.allowFileDataSources ? { readFile: readCaFile } : {}),
    })
    const { userTokens, dataplaneTokens, adminTokenPath } = await prepareStore(core, config, logger)
    const instanceId = newInstanceId()
    heartbeat = await startHeartbeat(instances, instanceId, logger)
    const dataplaneSessions = createDataplaneSessions({
      core,
      logger,
      instanceId,
      issuanceObserver: issuanceMetrics(metrics),
      watch: (listener, watchOptions) => store.watch(listener, watchOptions),
      heartbeatIntervalMs: config.dataplaneHeartbeatIntervalMs,
      reissueWindowMs: config.dataplaneReissueWindowMs,
      offlineGraceMs: config.dataplaneOfflineGraceMs,
    })
    const app = createApp({
      core,
      userTokens,
      dataplaneTokens,
      logger,
      logRequests: config.logLevel === 'debug',
      localhostIsAdmin: config.localhostIsAdmin,
      dataplaneSessions,
      ...(options.remoteAddress === undefined ? {} : { remoteAddress: options.remoteAddress }),
    })
    if (config.daemon) {
      daemon = startRotationDaemon({
        core,
        store,
        instances,
        metrics,
        logger,
        intervalMs: config.daemonIntervalMs,
        ...(opened.leaderElection ? { leadership: opened.leaderElection('rotation-daemon') } : {}),
      })
    }
    let streamsEnded: Promise<void> | undefined
    const endDataplaneStreams = () => {
      streamsEnded ??= dataplaneSessions.close()
      return streamsEnded
    }
    return {
      app,
      core,
      adminTokenPath,
      instanceId,
      dataplaneSessions,
      metrics,
      metricsApp: createMetricsApp(metrics),
      daemon,
      endDataplaneStreams,
      async close() {
        await endDataplaneStreams().catch((error: unknown) => {
          logger.log('error', 'ending data plane streams failed', { error: String(error) })
        })
        clearInterval(heartbeat)
        await daemon?.close()
        // Its streams have ended: nothing is left for a daemon to mark offline.
        await instances.remove(instanceId).catch(() => undefined)
        await Promise.allSettled([store.close(), signer.close()])
        logger.log('info', 'store closed')
      },
    }
  } catch (error) {
    clearInterval(heartbeat)
    await daemon?.close().catch(() => undefined)
    await Promise.allSettled([opened?.store.close(), signer.close()])
    throw error
  }
}

/** What the store must hold before serving: the default mesh, sealed keys, the admin token. */
async function prepareStore(core: MeshcaCore, config: ApiConfig, logger: Logger) {
  if (config.defaultMesh) await ensureDefaultMesh(core, logger)
  const resealed = await core.meshes.sealStoredInlineKeys()
  if (resealed > 0) logger.log('info', 'inline CA keys sealed at rest', { meshes: resealed })
  const userTokens = createUserTokens({ secrets: core.secrets.system, mesh: SYSTEM_SECRETS_MESH })
  const dataplaneTokens = createDataplaneTokens({ secrets: core.secrets.system })
  const adminTokenPath = await ensureAdminToken(config.dataDir, userTokens, logger)
  return { userTokens, dataplaneTokens, adminTokenPath }
}

/**
 * Marks this instance alive now, before the first stream opens, so that no daemon takes its
 * streams for dead, and then every `INSTANCE_HEARTBEAT_MS`.
 */
async function startHeartbeat(
  instances: InstanceRegistry,
  instanceId: string,
  logger: Logger
): Promise<ReturnType<typeof setInterval>> {
  await instances.heartbeat(instanceId)
  const heartbeat = setInterval(() => {
    instances.heartbeat(instanceId).catch((error: unknown) => {
      logger.log('warn', 'instance heartbeat not written', { error: String(error) })
    })
  }, INSTANCE_HEARTBEAT_MS)
  heartbeat.unref()
  return heartbeat
}

/**
 * The worker pool keeps signing and RSA key generation off the event loop that serves data planes
 * and admins (design: long CPU work never runs there); `inline` is for embedding and debugging.
 */
async function createConfiguredSigner(config: ApiConfig, registry: Registry): Promise<Signer> {
  if (config.signer === 'inline') return createInlineSigner()
  const { createWorkerSigner } = await import('@meshca/signer-workers')
  const signer = createWorkerSigner({
    keyPool: { RSA_2048: config.signerKeyPool },
    maxQueuedRequests: config.signerMaxQueue,
  })
  const registers = [registry]
  // Read at scrape time: each gauge's collect runs as the registry renders it.
  new Gauge({
    name: 'meshca_signer_queued_requests',
    help: 'Issuance requests waiting for a signer thread; at the limit, requests get 503.',
    registers,
    collect() {
      this.set(signer.stats().queuedRequests)
    },
  })
  new Gauge({
    name: 'meshca_signer_tasks_in_flight',
    help: 'Signer tasks running on threads.',
    registers,
    collect() {
      this.set(signer.stats().tasksInFlight)
    },
  })
  new Gauge({
    name: 'meshca_signer_key_pool_keys',
    help: 'Key pairs generated ahead of demand, by key type.',
    labelNames: ['key_type'],
    registers,
    collect() {
      for (const [keyType, depth] of Object.entries(signer.stats().keyPool)) {
        this.set({ key_type: keyType }, depth ?? 0)
      }
    },
  })
  return signer
}

function issuanceMetrics(registry: Registry): IssuanceObserver {
  const registers = [registry]
  const issued = new Counter({
    name: 'meshca_identities_issued_total',
    help: 'Data plane certificates issued, by mesh and CA backend.',
    labelNames: ['mesh', 'backend'],
    registers,
  })
  const failed = new Counter({
    name: 'meshca_identity_issuance_failures_total',
    help: 'Data plane identity requests that failed, by mesh and error code (SIGNER_SATURATED: a 503).',
    labelNames: ['mesh', 'code'],
    registers,
  })
  const latency = new Histogram({
    name: 'meshca_identity_issuance_duration_seconds',
    help: 'Time from an identity request entering the issuance queue to its certificate.',
    buckets: [...DEFAULT_LATENCY_BUCKETS_SECONDS],
    registers,
  })
  return {
    issued(mesh, backend, seconds) {
      issued.inc({ mesh, backend })
      latency.observe(seconds)
    },
    failed(mesh, code) {
      failed.inc({ mesh, code })
    },
  }
}

/** Kuma creates the Mesh `default` (empty: mTLS off) at start unless told not to. */
async function ensureDefaultMesh(core: MeshcaCore, logger: Logger): Promise<void> {
  if ((await core.meshes.get('default')) !== undefined) return
  try {
    await core.meshes.create({ type: 'Mesh', name: 'default', mesh: '', spec: { other: {} } })
    logger.log('info', 'created the default mesh')
  } catch (error) {
    // Another instance on the same database was quicker.
    if (!isMeshcaError(error, 'ALREADY_EXISTS')) throw error
  }
}
