/**
 * The sessions open on this instance, indexed by mesh and by data plane: a store event names a mesh
 * or a Dataplane, and finds the sessions it concerns without a scan.
 */
import type { OpenSessionIndex } from './reissue-selection.ts'

interface Registered {
  readonly mesh: string
  readonly name: string
}

/** The key of one data plane in the indexes: `[mesh, name]` as JSON. */
export function dataplaneKey(mesh: string, name: string): string {
  return JSON.stringify([mesh, name])
}

export class SessionRegistry<S extends Registered> implements OpenSessionIndex {
  readonly #sessions = new Set<S>()
  readonly #byMesh = new Map<string, Set<S>>()
  /** Keyed by `[mesh, name]` as JSON. */
  readonly #byDataplane = new Map<string, Set<S>>()

  get size(): number {
    return this.#sessions.size
  }

  add(session: S): void {
    this.#sessions.add(session)
    indexed(this.#byMesh, session.mesh).add(session)
    indexed(this.#byDataplane, dataplaneKey(session.mesh, session.name)).add(session)
  }

  delete(session: S): void {
    this.#sessions.delete(session)
    unindex(this.#byMesh, session.mesh, session)
    unindex(this.#byDataplane, dataplaneKey(session.mesh, session.name), session)
  }

  hasMesh(mesh: string): boolean {
    return this.#byMesh.has(mesh)
  }

  hasDataplane(mesh: string, name: string): boolean {
    return this.#byDataplane.has(dataplaneKey(mesh, name))
  }

  /** Copies: a session may end, and leave the registry, while the caller goes through them. */
  all(): S[] {
    return [...this.#sessions]
  }

  inMesh(mesh: string): S[] {
    return [...(this.#byMesh.get(mesh) ?? [])]
  }

  ofDataplane(mesh: string, name: string): S[] {
    return [...(this.#byDataplane.get(dataplaneKey(mesh, name)) ?? [])]
  }
}

function indexed<S>(index: Map<string, Set<S>>, key: string): Set<S> {
  let set = index.get(key)
  if (set === undefined) {
    set = new Set()
    index.set(key, set)
  }
  return set
}

/** Empty sets go, so that `hasMesh` and `hasDataplane` mean "has a session". */
function unindex<S>(index: Map<string, Set<S>>, key: string, session: S): void {
  const set = index.get(key)
  set?.delete(session)
  if (set?.size === 0) index.delete(key)
}
