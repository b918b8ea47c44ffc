/**
 * A counter per mesh, bumped (after the write committed) whenever a mesh's mTLS settings or CA
 * Secrets change. An issuance that saw the epoch move while it ran may have read the old settings,
 * and runs again; since only a change moves it, this cannot spin.
 */
export class MeshEpochs {
  readonly #epochs = new Map<string, number>()

  of(mesh: string): number {
    return this.#epochs.get(mesh) ?? 0
  }

  advance(mesh: string): void {
    this.#epochs.set(mesh, this.of(mesh) + 1)
  }
}
