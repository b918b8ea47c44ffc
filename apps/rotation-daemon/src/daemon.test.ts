import { X509Certificate } from 'node:crypto'
import {
  type Clock,
  createInlineSigner,
  createMemoryInstanceRegistry,
  createMemoryStore,
  createMeshcaCore,
  type DataplaneInsightSpec,
  DEFAULT_ORPHAN_GRACE_MS,
  generateEncryptionKey,
  type InstanceRegistry,
  type Leadership,
  type Logger,
  type LogLevel,
  type MeshcaCore,
  type MeshSpec,
  type Store,
  specToJson,
  type Unsubscribe,
} from '@meshca/core-mtls'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { type RotationDaemon, type RotationDaemonOptions, startRotationDaemon } from './daemon.ts'

const HOUR = 3600_000
const DAY = 24 * HOUR

interface Logged {
  readonly level: LogLevel
  readonly message: string
  readonly fields: Readonly<Record<string, unknown>>
}

/** A clock the test moves; core and daemon share it, as they do in a process. */
function testClock(start = Date.now()): Clock & { advance(ms: number): void } {
  let now = start
  return { now: () => new Date(now), advance: (ms) => (now += ms) }
}

function builtinMesh(expiration = '10y'): MeshSpec {
  return {
    mtls: {
      enabledBackend: 'ca-1',
      backends: [
        {
          name: 'ca-1',
          type: 'builtin',
          conf: { caCert: { RSAbits: 2048, expiration } },
        },
      ],
    },
    other: {},
  } as MeshSpec
}

function insight(
  subscriptions: readonly { id: string; instance: string; connect: Date; disconnect?: Date }[],
  mtls?: { backend: string; supported: readonly string[]; expires: Date }
): DataplaneInsightSpec {
  return {
    subscriptions: subscriptions.map((s) => ({
      id: s.id,
      controlPlaneInstanceId: s.instance,
      connectTime: s.connect.toISOString(),
      ...(s.disconnect ? { disconnectTime: s.disconnect.toISOString() } : {}),
    })),
    ...(mtls
      ? {
          mTLS: {
            certificateExpirationTime: mtls.expires.toISOString(),
            issuedBackend: mtls.backend,
            supportedBackends: [...mtls.supported],
            certificateRegenerations: 1,
          },
        }
      : {}),
    other: {},
  }
}

interface Setup {
  readonly store: Store
  readonly core: MeshcaCore
  readonly clock: ReturnType<typeof testClock>
  readonly instances: InstanceRegistry
  readonly metrics: Registry
  readonly logged: Logged[]
  start(
    options?: Partial<Pick<RotationDaemonOptions, 'leadership' | 'caExpiryWarningMs' | 'metrics'>>
  ): RotationDaemon
  /** The Secret names of each mesh, across every mesh. */
  secretsByMesh(): Promise<Record<string, string[]>>
}

const daemons: RotationDaemon[] = []
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.close()))
})

function setup(): Setup {
  const clock = testClock()
  const store = createMemoryStore({ clock })
  const logged: Logged[] = []
  const logger: Logger = {
    log: (level, message, fields = {}) => logged.push({ level, message, fields }),
  }
  const core = createMeshcaCore({
    store,
    signer: createInlineSigner(),
    encryptionKey: generateEncryptionKey(),
    clock,
    logger,
  })
  const instances = createMemoryInstanceRegistry(clock)
  const metrics = new Registry()
  return {
    store,
    core,
    clock,
    instances,
    metrics,
    logged,
    start: (options = {}) => {
      const daemon = startRotationDaemon({
        core,
        store,
        instances,
        metrics,
        logger,
        clock,
        // Ticks run when the test says so.
        intervalMs: 3_600_000,
        ...options,
      })
      daemons.push(daemon)
      return daemon
    },
    secretsByMesh: async () => {
      const byMesh: Record<string, string[]> = {}
      for (const item of (await store.list('Secret', { size: 1000 })).items) {
        byMesh[item.mesh] = [...(byMesh[item.mesh] ?? []), item.name]
      }
      return byMesh
    },
  }
}

/** Mesh written as a Kubernetes operator or psql would: straight into the store, no CA created. */
async function writeMeshToStore(store: Store, name: string, spec: MeshSpec): Promise<void> {
  await store.create({ type: 'Mesh', mesh: '', name }, specToJson('Mesh', spec))
}

function standingBy(): Leadership {
  return { isLeader: () => false, onChange: (): Unsubscribe => () => {}, stop: async () => {} }
}

describe('rotation daemon', () => {
  it('creates the CA of a mesh written straight into the store', async () => {
    const s = setup()
    await writeMeshToStore(s.store, 'default', builtinMesh())
    expect(await s.core.secrets.get('default', 'default.ca-builtin-cert-ca-1')).toBeUndefined()

    const report = await s.start().tick()

    expect(report).toMatchObject({ leader: true, meshes: 1, casEnsured: 1, errors: 0 })
    const cert = await s.core.secrets.get('default', 'default.ca-builtin-cert-ca-1')
    const key = await s.core.secrets.get('default', 'default.ca-builtin-key-ca-1')
    expect(key).toBeDefined()
    const x509 = new X509Certificate(cert?.data ?? new Uint8Array())
    expect(x509.ca).toBe(true)
    expect(x509.subject).toContain('CN=default')
    // A second tick finds the CA and keeps it.
    await daemons[0]?.tick()
    const again = await s.core.secrets.get('default', 'default.ca-builtin-cert-ca-1')
    expect(Buffer.from(again?.data ?? []).equals(Buffer.from(cert?.data ?? []))).toBe(true)
  })

  it('closes the streams of silent instances, keeps live ones, and writes MeshInsight', async () => {
    const s = setup()
    await s.core.meshes.create({ type: 'Mesh', mesh: '', name: 'default', spec: builtinMesh() })
    const now = s.clock.now()
    const longAgo = new Date(now.getTime() - HOUR)
    const expires = new Date(now.getTime() + DAY)
    for (const name of ['web-1', 'web-2', 'web-3', 'never-connected']) {
      await s.core.resources.create({
        type: 'Dataplane',
        mesh: 'default',
        name,
        spec: {
          networking: {
            address: '10.0.0.1',
            inbound: [{ port: 80, tags: { 'kuma.io/service': 'web' } }],
          },
          other: {},
        } as never,
      })
    }
    await s.instances.heartbeat('cp-live')
    const mtls = { backend: 'ca-1', supported: ['ca-1'], expires }
    const specs: Record<string, DataplaneInsightSpec> = {
      // Its instance crashed: nobody wrote the disconnect.
      'web-1': insight([{ id: 'a', instance: 'cp-gone', connect: longAgo }], mtls),
      'web-2': insight([{ id: 'b', instance: 'cp-live', connect: longAgo }], mtls),
      'web-3': insight([{ id: 'c', instance: 'cp-gone', connect: longAgo, disconnect: now }], {
        backend: 'ca-1',
        supported: ['ca-1', 'ca-2'],
        expires,
      }),
    }
    for (const [name, spec] of Object.entries(specs)) {
      await s.core.resources.create({ type: 'DataplaneInsight', mesh: 'default', name, spec })
    }

    const report = await s.start().tick()

    expect(report).toMatchObject({ subscriptionsClosed: 1, meshInsightsWritten: 1, errors: 0 })
    const web1 = await s.core.resources.get('DataplaneInsight', 'default', 'web-1')
    expect(web1?.spec.subscriptions[0]?.disconnectTime).toBe(
      now.toISOString().replace('.000Z', 'Z')
    )
    const web2 = await s.core.resources.get('DataplaneInsight', 'default', 'web-2')
    expect(web2?.spec.subscriptions[0]?.disconnectTime).toBeUndefined()

    const meshInsight = await s.core.resources.get('MeshInsight', '', 'default')
    expect(meshInsight?.spec.dataplanes).toEqual({
      total: 4,
      online: 1,
      offline: 3,
      partiallyDegraded: 0,
    })
    expect(meshInsight?.spec.mTLS).toEqual({
      issuedBackends: { 'ca-1': { total: 3, online: 1, offline: 2, partiallyDegraded: 0 } },
      supportedBackends: {
        'ca-1': { total: 3, online: 1, offline: 2, partiallyDegraded: 0 },
        'ca-2': { total: 1, online: 0, offline: 1, partiallyDegraded: 0 },
      },
    })

    const text = await s.metrics.metrics()
    expect(text).toContain('meshca_dataplanes{mesh="default",status="online"} 1')
    expect(text).toContain('meshca_dataplanes{mesh="default",status="offline"} 3')
    expect(text).toContain(
      `meshca_dataplane_certificate_expiry_timestamp_seconds{mesh="default",dataplane="web-2"} ${Math.floor(expires.getTime() / 1000)}`
    )
    expect(text).not.toContain('dataplane="web-1"')
    expect(text).toContain('meshca_daemon_subscriptions_closed_total 1')

    // Nothing changed since: the next tick writes nothing.
    expect(await daemons[0]?.tick()).toMatchObject({
      subscriptionsClosed: 0,
      meshInsightsWritten: 0,
    })
    // A MeshInsight whose mesh is gone goes too.
    const ghost = {
      dataplanes: { total: 0, online: 0, offline: 0, partiallyDegraded: 0 },
      other: {},
    }
    await s.core.resources.create({ type: 'MeshInsight', mesh: '', name: 'gone', spec: ghost })
    await daemons[0]?.tick()
    expect(await s.core.resources.get('MeshInsight', '', 'gone')).toBeUndefined()
    expect(await s.core.resources.get('MeshInsight', '', 'default')).toBeDefined()
  })

  it('does not judge a stream that opened after the instance was last seen', async () => {
    const s = setup()
    await s.core.meshes.create({ type: 'Mesh', mesh: '', name: 'default', spec: { other: {} } })
    const spec = insight([{ id: 'new', instance: 'cp-starting', connect: s.clock.now() }])
    await s.core.resources.create({ type: 'DataplaneInsight', mesh: 'default', name: 'dp', spec })
    expect(await s.start().tick()).toMatchObject({ subscriptionsClosed: 0 })
  })

  it('stands by without writing when it does not lead, but still reports', async () => {
    const s = setup()
    await writeMeshToStore(s.store, 'default', builtinMesh())
    await s.core.resources.create({
      type: 'DataplaneInsight',
      mesh: 'default',
      name: 'dp',
      spec: insight([{ id: 'a', instance: 'cp-gone', connect: new Date(0) }]),
    })

    const report = await s.start({ leadership: standingBy() }).tick()

    expect(report).toMatchObject({ leader: false, casEnsured: 0, subscriptionsClosed: 0 })
    expect(await s.core.secrets.get('default', 'default.ca-builtin-cert-ca-1')).toBeUndefined()
    expect(await s.core.resources.get('MeshInsight', '', 'default')).toBeUndefined()
    const stored = await s.core.resources.get('DataplaneInsight', 'default', 'dp')
    expect(stored?.spec.subscriptions[0]?.disconnectTime).toBeUndefined()
    expect(await s.metrics.metrics()).toContain('meshca_daemon_leader 0')
  })

  it('warns once a day about a CA that ends within the warning period', async () => {
    const s = setup()
    await s.core.meshes.create({ type: 'Mesh', mesh: '', name: 'short', spec: builtinMesh('20d') })
    const daemon = s.start({ caExpiryWarningMs: 30 * DAY })

    expect(await daemon.tick()).toMatchObject({ caWarnings: 1 })
    const warning = s.logged.find((l) => l.message.startsWith('CA certificate expires soon'))
    expect(warning?.level).toBe('warn')
    expect(warning?.fields).toMatchObject({ mesh: 'short', backend: 'ca-1', daysLeft: 19 })
    expect(await daemon.tick()).toMatchObject({ caWarnings: 0 })
    s.clock.advance(DAY + 1000)
    expect(await daemon.tick()).toMatchObject({ caWarnings: 1 })

    const cert = await s.core.secrets.get('short', 'short.ca-builtin-cert-ca-1')
    const notAfter = Date.parse(new X509Certificate(cert?.data ?? new Uint8Array()).validTo)
    expect(await s.metrics.metrics()).toContain(
      `meshca_ca_certificate_expiry_timestamp_seconds{mesh="short",backend="ca-1"} ${notAfter / 1000}`
    )
  })

  it('sweeps what meshes that do not exist left, after a grace period, when it leads', async () => {
    const s = setup()
    const data = new TextEncoder().encode('key material')
    // A control plane that crashed in the middle of a create: the CA is there, its Mesh never came.
    await s.core.secrets.system.create('crashed', 'crashed.ca-builtin-key-ca-1', data)
    await s.core.secrets.system.create('crashed', 'crashed.ca-builtin-cert-ca-1', data)
    const daemon = s.start()
    const standby = s.start({ leadership: standingBy(), metrics: new Registry() })
    // Each daemon starts a first tick of its own on a zero-delay timer: it must run before the
    // clock moves, or it sweeps at a time this test did not mean. A later timer fires after it.
    await new Promise((resolve) => setTimeout(resolve, 20))

    expect(await daemon.tick()).toMatchObject({ orphansRemoved: 0, errors: 0 })
    s.clock.advance(DEFAULT_ORPHAN_GRACE_MS + 1000)
    // A create under way: its CA written, its Mesh not yet; it has all the grace period to finish.
    await s.core.secrets.system.create('creating', 'creating.ca-builtin-key-ca-1', data)
    expect(await standby.tick()).toMatchObject({ leader: false, orphansRemoved: 0 })
    expect(await s.secretsByMesh()).toEqual({
      crashed: ['crashed.ca-builtin-cert-ca-1', 'crashed.ca-builtin-key-ca-1'],
      creating: ['creating.ca-builtin-key-ca-1'],
    })

    expect(await daemon.tick()).toMatchObject({ orphansRemoved: 2, errors: 0 })
    expect(await s.secretsByMesh()).toEqual({ creating: ['creating.ca-builtin-key-ca-1'] })
    expect(s.logged.find((l) => l.message.startsWith('removed resources'))?.fields).toEqual({
      mesh: 'crashed',
      count: 2,
    })

    // The create ends: its Mesh is there, and its CA stays however old it gets.
    await writeMeshToStore(s.store, 'creating', { other: {} } as MeshSpec)
    s.clock.advance(10 * DEFAULT_ORPHAN_GRACE_MS)
    expect(await daemon.tick()).toMatchObject({ orphansRemoved: 0, errors: 0 })
    expect(await s.secretsByMesh()).toEqual({ creating: ['creating.ca-builtin-key-ca-1'] })
  })

  it('ticks again at once when a Mesh is written', async () => {
    const s = setup()
    const daemon = s.start()
    await daemon.tick()
    await writeMeshToStore(s.store, 'late', builtinMesh())
    const deadline = Date.now() + 20_000
    while ((await s.core.secrets.get('late', 'late.ca-builtin-cert-ca-1')) === undefined) {
      if (Date.now() > deadline) throw new Error('the CA of mesh "late" was never created')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })
})
