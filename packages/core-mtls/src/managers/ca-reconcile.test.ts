import '../polyfill.ts'
import { describe, expect, it } from 'vitest'
import { memoryCore } from '../../test/memory-core.ts'
import { builtinCertSecretName, builtinKeySecretName } from '../ca/builtin.ts'
import { MeshcaError } from '../errors.ts'
import type { Store } from '../ports/store.ts'
import { specFromJson } from '../resources/codec.ts'
import type { MeshSpec } from '../resources/mesh.ts'
import { utf8 } from '../util/bytes.ts'
import { reconcileMeshCas } from './ca-reconcile.ts'

const SPEC: MeshSpec = specFromJson('Mesh', {
  mtls: {
    enabledBackend: 'ca-1',
    backends: [{ name: 'ca-1', type: 'builtin', conf: { caCert: { keyType: 'ECDSA_P256' } } }],
  },
})

/** `store`, running `hook` once, right before the first list of Meshes (the reconcile's check). */
function beforeMeshCheck(store: Store, hook: () => Promise<void>): Store {
  let pending: (() => Promise<void>) | undefined = hook
  return {
    ...store,
    async list(type, options) {
      const run = type === 'Mesh' ? pending : undefined
      pending = undefined
      await run?.()
      return store.list(type, options)
    },
  }
}

function setup() {
  const { store, core } = memoryCore()
  const options = (checkedStore: Store = store) => ({
    store: checkedStore,
    ctx: core.ctx,
    secrets: core.secrets.system,
  })
  const secretNames = async (mesh: string) =>
    (await store.list('Secret', { mesh })).items.map((item) => item.name)
  return { store, core, options, secretNames }
}

describe('reconcileMeshCas', () => {
  it('creates the missing CA of a stored mesh and keeps it', async () => {
    const { store, options, secretNames } = setup()
    await store.create({ type: 'Mesh', mesh: '', name: 'web' }, {})

    const result = await reconcileMeshCas(options(), 'web', SPEC)

    expect(result).toEqual({ written: 2, meshDeleted: false, removed: 0 })
    expect(await secretNames('web')).toEqual([
      builtinCertSecretName('web', 'ca-1'),
      builtinKeySecretName('web', 'ca-1'),
    ])
    // The CA exists now: nothing to write, nothing to check.
    expect(await reconcileMeshCas(options(), 'web', SPEC)).toEqual({
      written: 0,
      meshDeleted: false,
      removed: 0,
    })
  })

  it('removes what it wrote when the mesh is gone by the time it checks', async () => {
    const { store, options, secretNames } = setup()
    await store.create({ type: 'Mesh', mesh: '', name: 'web' }, {})
    // The delete lands between the CA writes and the check.
    const deleting = beforeMeshCheck(store, () =>
      store.delete({ type: 'Mesh', mesh: '', name: 'web' })
    )

    const result = await reconcileMeshCas(options(deleting), 'web', SPEC)

    expect(result).toEqual({ written: 2, meshDeleted: true, removed: 2 })
    expect(await secretNames('web')).toEqual([])
  })

  it('leaves a Secret that someone wrote again after it', async () => {
    const { store, core, options, secretNames } = setup()
    const certName = builtinCertSecretName('web', 'ca-1')
    // A create of the mesh under way elsewhere replaced the certificate (bytes of its own).
    const replacing = beforeMeshCheck(store, async () => {
      const cert = await core.secrets.system.get('web', certName)
      await core.secrets.system.update('web', certName, utf8('theirs'), cert?.version ?? '')
    })

    const result = await reconcileMeshCas(options(replacing), 'web', SPEC)

    expect(result).toEqual({ written: 2, meshDeleted: true, removed: 1 })
    expect(await secretNames('web')).toEqual([certName])
  })

  it('reports a failure for a stored mesh, and none for a deleted one', async () => {
    const { store, core, options } = setup()
    await store.create({ type: 'Mesh', mesh: '', name: 'web' }, {})
    const failing = {
      ...core.secrets.system,
      create: async () => {
        throw new MeshcaError('STORE_UNAVAILABLE', 'the store is down')
      },
    }

    await expect(reconcileMeshCas({ ...options(), secrets: failing }, 'web', SPEC)).rejects.toThrow(
      'the store is down'
    )
    await store.delete({ type: 'Mesh', mesh: '', name: 'web' })
    expect(await reconcileMeshCas({ ...options(), secrets: failing }, 'web', SPEC)).toEqual({
      written: 1,
      meshDeleted: true,
      removed: 0,
    })
  })
})
