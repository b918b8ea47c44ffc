import type { SigningCa } from '@meshca/core-mtls'
import type { WireCaMaterial } from './wire/protocol.ts'

/** A CA's certificate and key as they cross to a thread. */
export function caMaterial(ca: SigningCa): WireCaMaterial {
  // Tight copies: the caller's arrays stay intact, and only these bytes cross the boundary.
  return {
    certificate: ca.certificate.slice().buffer,
    privateKey: ca.privateKey.slice().buffer,
  }
}

/**
 * How many tasks carried each CA's material. The first `threads` tasks for a CA carry it (they
 * likely land on different threads), later ones go without it, and a thread that lacks it asks.
 */
export class CaMaterialSent {
  readonly #threads: number
  readonly #sent = new Map<string, number>()

  constructor(threads: number) {
    this.#threads = threads
  }

  /** Whether the next task for this CA should carry its material. */
  due(caId: string): boolean {
    return (this.#sent.get(caId) ?? 0) < this.#threads
  }

  record(caId: string): void {
    if (this.#sent.size > 4096) this.#sent.clear()
    this.#sent.set(caId, (this.#sent.get(caId) ?? 0) + 1)
  }

  /** The CA failed on a thread: the next task for it carries its material again. */
  forget(caId: string): void {
    this.#sent.delete(caId)
  }
}
