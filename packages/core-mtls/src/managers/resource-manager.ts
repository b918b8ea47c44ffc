import { isMeshcaError, MeshcaError, validationError } from '../errors.ts'
import type { ListOptions, Store, StoredResource } from '../ports/store.ts'
import { specFromJson, specToJson } from '../resources/codec.ts'
import type { Resource } from '../resources/resource.ts'
import { isMeshScoped, type ResourceType, resourceKeyId } from '../resources/types.ts'
import { validateResource } from '../resources/validate.ts'
import { deepFreeze } from '../util/deep-freeze.ts'
import { frozenDate } from '../util/frozen-date.ts'
import { LruMap } from '../util/lru-map.ts'

/** Types whose specs pass through this manager; Secrets go through the SecretManager (encryption). */
export type PlainResourceType = Exclude<ResourceType, 'Secret'>

export interface ResourcePage<T extends ResourceType> {
  readonly items: readonly Resource<T>[]
  readonly total: number
  readonly next?: string
}

/**
 * Typed access to the Store for every type but Secret: validation on the way in (spec and
 * names), decoding on the way out. A stored row that no longer decodes is CORRUPTED, with its key.
 * What `get` and `list` return is frozen and may be the very object another reader got: a resource
 * read again at the same version is decoded once.
 */
export interface ResourceManager {
  get<T extends PlainResourceType>(
    type: T,
    mesh: string,
    name: string
  ): Promise<Resource<T> | undefined>
  list<T extends PlainResourceType>(type: T, options?: ListOptions): Promise<ResourcePage<T>>
  /** Every resource of a type (and mesh), following pagination. */
  listAll<T extends PlainResourceType>(type: T, mesh?: string): Promise<Resource<T>[]>
  create<T extends PlainResourceType>(resource: Resource<T>): Promise<Resource<T>>
  /** Optimistic: `resource.meta.version` must be the stored version (CONFLICT otherwise). */
  update<T extends PlainResourceType>(resource: Resource<T>): Promise<Resource<T>>
  delete(
    type: PlainResourceType,
    mesh: string,
    name: string,
    expectedVersion?: string
  ): Promise<void>
}

export function decodeStored<T extends ResourceType>(type: T, row: StoredResource): Resource<T> {
  try {
    return {
      type,
      name: row.name,
      mesh: row.mesh,
      spec: specFromJson(type, row.spec),
      meta: {
        version: row.version,
        creationTime: row.creationTime,
        modificationTime: row.modificationTime,
      },
    }
  } catch (error) {
    const detail = isMeshcaError(error) ? error.message : String(error)
    throw new MeshcaError(
      'CORRUPTED',
      `stored ${type} "${row.name}"${row.mesh ? ` in mesh "${row.mesh}"` : ''} cannot be read: ${detail}`,
      { cause: error }
    )
  }
}

function assertPlain(type: ResourceType): void {
  if (type === 'Secret') {
    throw new MeshcaError('INTERNAL', 'Secrets are written through the SecretManager')
  }
}

/** How many decoded resources are kept for readers of the same version. */
const DECODED_RESOURCES = 4096

export function createResourceManager(store: Store): ResourceManager {
  // The Store never gives a key the same version twice, so (key, version) names one content: the
  // hot resources (the mesh every request reads) are decoded once per change, and the API can
  // encode each of them once (it keys its bodies by the object).
  const decoded = new LruMap<string, Resource>(DECODED_RESOURCES)
  function decodeShared<T extends ResourceType>(type: T, row: StoredResource): Resource<T> {
    const id = resourceKeyId(row)
    const known = decoded.get(id)
    if (known !== undefined && known.meta?.version === row.version) return known as Resource<T>
    // Shared by every reader of this version: its Dates too must be ones nobody can change.
    const resource = deepFreeze(
      decodeStored(type, {
        ...row,
        creationTime: frozenDate(row.creationTime),
        modificationTime: frozenDate(row.modificationTime),
      })
    )
    decoded.set(id, resource)
    return resource
  }

  async function checkMesh(resource: Resource): Promise<void> {
    if (!isMeshScoped(resource.type)) return
    const mesh = await store.get({ type: 'Mesh', mesh: '', name: resource.mesh })
    if (!mesh) {
      throw new MeshcaError('MESH_NOT_FOUND', 'Mesh is not found', {
        violations: [{ field: 'mesh', message: `mesh of name ${resource.mesh} is not found` }],
      })
    }
  }

  function validated(resource: Resource): void {
    const violations = validateResource(resource)
    if (violations.length > 0) throw validationError(violations)
  }

  const manager: ResourceManager = {
    async get(type, mesh, name) {
      assertPlain(type)
      const row = await store.get({ type, mesh, name })
      return row ? decodeShared(type, row) : undefined
    },
    async list(type, options = {}) {
      assertPlain(type)
      const page = await store.list(type, options)
      return {
        items: page.items.map((row) => decodeShared(type, row)),
        total: page.total,
        ...(page.next === undefined ? {} : { next: page.next }),
      }
    },
    async listAll(type, mesh) {
      const items: Resource<typeof type>[] = []
      let offset: string | undefined
      do {
        const page = await manager.list(type, {
          size: 1000,
          ...(mesh === undefined ? {} : { mesh }),
          ...(offset === undefined ? {} : { offset }),
        })
        items.push(...page.items)
        offset = page.next
      } while (offset !== undefined)
      return items
    },
    async create(resource) {
      assertPlain(resource.type)
      validated(resource)
      await checkMesh(resource)
      const row = await store.create(
        { type: resource.type, mesh: resource.mesh, name: resource.name },
        specToJson(resource.type, resource.spec)
      )
      return decodeStored(resource.type, row)
    },
    async update(resource) {
      assertPlain(resource.type)
      validated(resource)
      if (!resource.meta) throw new MeshcaError('INTERNAL', 'update needs the version read before')
      const row = await store.update(
        { type: resource.type, mesh: resource.mesh, name: resource.name },
        specToJson(resource.type, resource.spec),
        resource.meta.version
      )
      return decodeStored(resource.type, row)
    },
    async delete(type, mesh, name, expectedVersion) {
      assertPlain(type)
      await store.delete({ type, mesh, name }, expectedVersion)
    },
  }
  return manager
}
