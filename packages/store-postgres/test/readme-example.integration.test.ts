/**
 * The README example, wired to a server, carried on to what it promises: the core's managers over
 * this store create a builtin CA whose key reaches the table encrypted, and the daemon leads.
 */
import type { StoreEvent } from '@meshca/core-mtls'
import {
  createInlineSigner,
  createMeshcaCore,
  decodeResource,
  generateEncryptionKey,
  parseYamlDocuments,
} from '@meshca/core-mtls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStore } from '../src/index.ts'
import { waitFor } from './support/recording-logger.ts'
import type { TestPostgres } from './support/test-postgres.ts'
import { connectTestPostgres } from './support/test-postgres.ts'

let server: TestPostgres

beforeAll(async () => {
  server = await connectTestPostgres()
})

afterAll(async () => {
  await server?.dispose()
})

describe('README example', () => {
  it('runs the core on the store: a builtin mesh whose CA key is stored encrypted', async () => {
    const store = await openStore(server.url, { schema: server.newSchema() })
    const events: StoreEvent[] = []
    store.watch((event) => events.push(event))
    const core = createMeshcaCore({
      store,
      signer: createInlineSigner(),
      encryptionKey: generateEncryptionKey(),
    })
    const daemon = store.leaderElection('rotation-daemon', {
      heartbeatMs: 50,
      leaseMs: 200,
      retryMs: 50,
    })
    try {
      const [doc] = parseYamlDocuments(`type: Mesh
name: default
mtls: { enabledBackend: ca-1, backends: [{ name: ca-1, type: builtin }] }`)
      const mesh = decodeResource(doc)
      if (mesh.type !== 'Mesh') throw new Error('not a Mesh')
      await core.meshes.create(mesh)
      await waitFor(() => events.some((event) => event.key.type === 'Mesh'), 'the Mesh event')
      const rows = await server.admin.unsafe<{ name: string; spec: string }[]>(
        `select name, spec from "${store.schema}".resources where type = 'Secret' order by name`
      )
      expect(rows.map((row) => row.name)).toEqual([
        'default.ca-builtin-cert-ca-1',
        'default.ca-builtin-key-ca-1',
      ])
      for (const row of rows) {
        expect(row.spec).toMatch(/^\{"encrypted":"v1:/)
        expect(row.spec).not.toContain('BEGIN')
      }
      const key = await core.secrets.get('default', 'default.ca-builtin-key-ca-1')
      expect(new TextDecoder().decode(key?.data)).toContain('PRIVATE KEY')
      await waitFor(() => daemon.isLeader(), 'the daemon to lead')
    } finally {
      await store.close()
    }
  })
})
