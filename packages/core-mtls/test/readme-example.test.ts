/** The example of README.md, as a user would write it against the package entry. */
import { describe, expect, it } from 'vitest'
import {
  createInlineSigner,
  createMemoryStore,
  createMeshcaCore,
  decodeResource,
  generateEncryptionKey,
  parseYamlDocuments,
} from '../src/index.ts'

describe('README example', () => {
  it('creates a builtin mesh and issues an identity', async () => {
    const core = createMeshcaCore({
      store: createMemoryStore(),
      signer: createInlineSigner(),
      encryptionKey: generateEncryptionKey(),
    })
    const [doc] = parseYamlDocuments(`type: Mesh
name: default
mtls: { enabledBackend: ca-1, backends: [{ name: ca-1, type: builtin }] }`)
    const mesh = decodeResource(doc)
    if (mesh.type === 'Mesh') await core.meshes.create(mesh)
    const dataplaneSpec = {
      networking: {
        address: '10.0.0.1',
        other: {},
        inbound: [{ port: 8080, tags: { 'kuma.io/service': 'web' }, other: {} }],
      },
      other: {},
    }
    const meshSpec = (await core.meshes.get('default'))?.spec
    if (!meshSpec) throw new Error('mesh not stored')
    const id = await core.identities.issue({
      mesh: 'default',
      meshSpec,
      dataplane: 'web-1',
      dataplaneSpec,
    })
    if (id.mode === 'DISABLED') throw new Error('mTLS should be on')
    expect(id.certificateChainPem).toMatch(/^-----BEGIN CERTIFICATE-----/)
    expect(id.rotateAt.getTime()).toBeGreaterThan(id.generation.getTime())
  })
})
