/**
 * Meshes deleted while the daemon reconciles, round after round, on each kind of store: nothing of a
 * deleted mesh may stay behind (a CA written back by a reconcile that listed the mesh before its
 * delete), and the name, used again, gets a CA with a new key. On PostgreSQL the API and the daemon
 * are two instances with read caches, as two processes on one database are.
 */
import { X509Certificate } from 'node:crypto'
import {
  createInlineSigner,
  createMemoryStore,
  createMeshcaCore,
  generateEncryptionKey,
  type Logger,
  type LogLevel,
  type MeshcaCore,
  type MeshSpec,
  RESOURCE_TYPES,
  type ResourceType,
  type Store,
} from '@meshca/core-mtls'
import { createPgliteStore, createPostgresStore, type PostgresStore } from '@meshca/store-postgres'
import { Registry } from 'prom-client'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  connectTestPostgres,
  type TestPostgres,
} from '../../../packages/store-postgres/test/support/test-postgres.ts'
import { type RotationDaemon, startRotationDaemon } from '../src/daemon.ts'

/**
 * Deleted together each round. A tick handles meshes one after the other in name order, so the
 * later ones are often deleted after the tick listed them and before it reaches them.
 */
const MESHES = ['churn-0', 'churn-1', 'churn-2']
/** Listed first by every tick and never deleted: work the tick does before it reaches the others. */
const STEADY_MESH = 'a-steady'
const ROUNDS = 30
/** 20-25 s a store here when the machine is busy; the default 60 s leaves too little room. */
const CHURN_TIMEOUT_MS = 240_000

const MESH_SCOPED = (Object.keys(RESOURCE_TYPES) as ResourceType[]).filter(
  (type) => RESOURCE_TYPES[type].scope === 'mesh'
)

/** ECDSA keys: a round generates up to three CAs, and RSA would make the test about key generation. */
const SPEC = {
  mtls: {
    enabledBackend: 'ca-1',
    backends: [{ name: 'ca-1', type: 'builtin', conf: { caCert: { keyType: 'ECDSA_P256' } } }],
  },
  other: {},
} as MeshSpec

interface Logged {
  readonly level: LogLevel
  readonly message: string
  readonly fields: Readonly<Record<string, unknown>>
}

interface Sides {
  /** Where the admin API's requests run: create and delete. */
  readonly api: MeshcaCore
  readonly apiStore: Store
  readonly daemon: RotationDaemon
  readonly logged: readonly Logged[]
}

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function recordingLogger(logged: Logged[]): Logger {
  return { log: (level, message, fields = {}) => logged.push({ level, message, fields }) }
}

/** The API's core on `apiStore`, the daemon's own core on `daemonStore` (the same data). */
function wire(apiStore: Store, daemonStore: Store): Sides {
  const logged: Logged[] = []
  const logger = recordingLogger(logged)
  const encryptionKey = generateEncryptionKey()
  const coreOn = (store: Store) =>
    createMeshcaCore({ store, signer: createInlineSigner(), encryptionKey, logger })
  const api = coreOn(apiStore)
  const daemon = startRotationDaemon({
    core: apiStore === daemonStore ? api : coreOn(daemonStore),
    store: daemonStore,
    instances: { heartbeat: async () => {}, live: async () => new Set(), remove: async () => {} },
    metrics: new Registry(),
    logger,
    // It ticks when the test loop says so (and on Mesh writes).
    intervalMs: 3_600_000,
  })
  cleanups.push(() => daemon.close())
  return { api, apiStore, daemon, logged }
}

/** Public key of the mesh's CA certificate, as a hex string; undefined without one. */
async function caKeyOf(core: MeshcaCore, mesh: string): Promise<string | undefined> {
  const cert = await core.secrets.get(mesh, `${mesh}.ca-builtin-cert-ca-1`)
  if (cert === undefined) return undefined
  const spki = new X509Certificate(cert.data).publicKey.export({ type: 'spki', format: 'der' })
  return spki.toString('hex')
}

async function rowsOfMesh(store: Store, mesh: string): Promise<string[]> {
  const rows: string[] = []
  for (const type of MESH_SCOPED) {
    const page = await store.list(type, { mesh, size: 1000 })
    rows.push(...page.items.map((item) => `${type} ${mesh}/${item.name}`))
  }
  return rows
}

interface ChurnResult {
  /** Rows of the deleted mesh found after the daemon settled, with their round. */
  readonly leftovers: string[]
  /** Rounds whose new mesh came back with the key of an earlier CA. */
  readonly reusedKeys: number
  readonly ticks: number
}

/**
 * Creates and deletes the meshes `rounds` times while the daemon ticks back to back, the deletes
 * landing at a different point of a tick each round; after the deletes the daemon settles (a tick
 * that started after them ends) and the meshes' rows are counted.
 */
async function churn(sides: Sides, rounds: number): Promise<ChurnResult> {
  const { api, apiStore, daemon } = sides
  await api.meshes.create({ type: 'Mesh', mesh: '', name: STEADY_MESH, spec: SPEC })
  let stopped = false
  let ticks = 0
  const ticking = (async () => {
    while (!stopped) {
      await daemon.tick()
      ticks++
      // A tick over no mesh is all microtasks: without a turn of the event loop, nothing else runs.
      await new Promise((resolve) => setImmediate(resolve))
    }
  })()
  const leftovers: string[] = []
  const keysSeen = new Set<string>()
  let reusedKeys = 0
  try {
    for (let round = 0; round < rounds; round++) {
      for (const name of MESHES) {
        await api.meshes.create({ type: 'Mesh', mesh: '', name, spec: SPEC })
        const key = await caKeyOf(api, name)
        if (key === undefined) throw new Error(`round ${round}: mesh ${name} has no CA`)
        if (keysSeen.has(key)) reusedKeys++
        keysSeen.add(key)
      }
      // 0 to 7 turns of the event loop: the deletes start somewhere else in a tick each round.
      for (let turn = 0; turn < round % 8; turn++) {
        await new Promise((resolve) => setImmediate(resolve))
      }
      for (const name of MESHES) await api.meshes.delete(name)
      await daemon.tick()
      for (const name of MESHES) {
        leftovers.push(...(await rowsOfMesh(apiStore, name)).map((row) => `round ${round}: ${row}`))
        // A CA left behind counts as seen: a new mesh that takes it over gets no fresh CA.
        const left = await caKeyOf(api, name)
        if (left !== undefined) keysSeen.add(left)
      }
    }
  } finally {
    stopped = true
    await ticking
  }
  return { leftovers, reusedKeys, ticks }
}

function expectClean(sides: Sides, result: ChurnResult): void {
  const errors = sides.logged.filter((l) => l.level === 'error').map((l) => l.message)
  expect({ leftovers: result.leftovers, reusedKeys: result.reusedKeys, errors }).toEqual({
    leftovers: [],
    reusedKeys: 0,
    errors: [],
  })
  // The daemon did tick through the rounds: a test whose daemon never ran proves nothing.
  expect(result.ticks).toBeGreaterThan(ROUNDS)
}

describe('a mesh deleted while the daemon reconciles', () => {
  it(
    'leaves nothing behind on the memory store',
    async () => {
      const store = createMemoryStore()
      const sides = wire(store, store)
      expectClean(sides, await churn(sides, ROUNDS))
    },
    CHURN_TIMEOUT_MS
  )

  it(
    'leaves nothing behind on PGlite',
    async () => {
      const store = await createPgliteStore()
      cleanups.push(() => store.close())
      const sides = wire(store, store)
      expectClean(sides, await churn(sides, ROUNDS))
    },
    CHURN_TIMEOUT_MS
  )

  describe('on PostgreSQL, API and daemon in two instances with read caches', () => {
    let server: TestPostgres | undefined
    beforeAll(async () => {
      server = await connectTestPostgres()
    })
    afterAll(async () => {
      await server?.dispose()
    })

    it(
      'leaves nothing behind',
      async () => {
        if (server === undefined) throw new Error('no PostgreSQL server')
        const schema = server.newSchema()
        const open = async (): Promise<PostgresStore> => {
          const store = await createPostgresStore({
            url: server?.url ?? '',
            schema,
            poolSize: 4,
            readCacheMaxAgeMs: 60_000,
          })
          cleanups.push(() => store.close())
          return store
        }
        const apiStore = await open()
        const sides = wire(apiStore, await open())
        expectClean(sides, await churn(sides, ROUNDS))
      },
      CHURN_TIMEOUT_MS
    )
  })
})
