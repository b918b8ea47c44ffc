/**
 * Everything a control plane process does before and after serving: data directory, encryption key,
 * store, core, tokens, the `default` mesh, the bootstrap admin token; and closing it all again. The
 * entry files add the listening socket and signal handling.
 */
import { mkdir, readFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import {
  createDataplaneTokens,
  createInlineSigner,
  createMeshcaCore,
  createUserTokens,
  isMeshcaError,
  type Logger,
  type MeshcaCore,
  type Signer,
  type Store,
  silentLogger,
} from '@meshca/core-mtls'
import type { Hono } from 'hono'
import { ensureAdminToken } from './admin-token.ts'
import { createApp } from './app.ts'
import type { ApiConfig } from './config.ts'
import type { AppEnv } from './context.ts'
import { createDataplaneSessions, type DataplaneSessions } from './dataplanes/dataplane-sessions.ts'
import { loadEncryptionKey } from './encryption-key.ts'
import type { RemoteAddress } from './middleware/authenticate.ts'
import { openStore } from './store.ts'
import { SYSTEM_SECRETS_MESH } from './system-secrets.ts'

export interface ControlPlaneOptions {
  readonly logger?: Logger
  /** Default: the inline signer; a worker pool plugs in here. Closed with the control plane. */
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
  const signer = options.signer ?? createInlineSigner()
  let store: Store | undefined
  try {
    store = await openStore(config, logger)
    logger.log('info', 'store open', {
      store: config.store,
      ...(config.store === 'postgres' ? {} : { dataDir: config.dataDir }),
    })
    const core = createMeshcaCore({
      store,
      signer,
      encryptionKey,
      logger,
      readFile: async (path) => new Uint8Array(await readFile(path)),
    })
    if (config.defaultMesh) await ensureDefaultMesh(core, logger)
    const userTokens = createUserTokens({ secrets: core.secrets.system, mesh: SYSTEM_SECRETS_MESH })
    const dataplaneTokens = createDataplaneTokens({ secrets: core.secrets.system })
    const adminTokenPath = await ensureAdminToken(config.dataDir, userTokens, logger)
    const opened = store
    const instanceId = newInstanceId()
    const dataplaneSessions = createDataplaneSessions({
      core,
      logger,
      instanceId,
      watch: (listener, watchOptions) => opened.watch(listener, watchOptions),
      heartbeatIntervalMs: config.dataplaneHeartbeatIntervalMs,
      reissueWindowMs: config.dataplaneReissueWindowMs,
    })
    const app = createApp({
      core,
      userTokens,
      dataplaneTokens,
      logger,
      localhostIsAdmin: config.localhostIsAdmin,
      dataplaneSessions,
      ...(options.remoteAddress === undefined ? {} : { remoteAddress: options.remoteAddress }),
    })
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
      endDataplaneStreams,
      async close() {
        await endDataplaneStreams().catch((error: unknown) => {
          logger.log('error', 'ending data plane streams failed', { error: String(error) })
        })
        await Promise.allSettled([opened.close(), signer.close()])
        logger.log('info', 'store closed')
      },
    }
  } catch (error) {
    await Promise.allSettled([store?.close(), signer.close()])
    throw error
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
