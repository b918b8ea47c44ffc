import {
  authorityKeyId,
  leafExtensions,
  parseCaCertificate,
  type SigningCa,
} from '@meshca/core-mtls'
import { concatBytes, LruMap } from '@meshca/core-mtls/adapter-kit'
import type { LeafKeyFamily } from './leaf/key-family.ts'
import type { WireCaMaterial } from './wire/protocol.ts'

/**
 * What every leaf of a CA carries whatever its URIs — KeyUsage, ExtendedKeyUsage, BasicConstraints
 * and AuthorityKeyIdentifier, in profile order — as DER, per key family.
 */
export type FixedExtensions = Readonly<Record<LeafKeyFamily, Uint8Array>>

/** CAs whose derived extensions are kept; as many as a worker keeps prepared. */
const DERIVED_CACHE_SIZE = 64

/**
 * Core's leaf profile, encoded by core for one CA: the workers copy these bytes, so the profile
 * (and the AKID rule: the CA's SKID, else SHA-1 of its key) lives in core only.
 */
export async function fixedLeafExtensions(certificate: Uint8Array): Promise<FixedExtensions> {
  const akid = await authorityKeyId(parseCaCertificate(certificate).x509, globalThis.crypto)
  const of = (family: LeafKeyFamily) =>
    concatBytes(
      leafExtensions({ family, uris: [], authorityKeyId: akid }).map(
        (extension) => new Uint8Array(extension.rawData)
      )
    )
  return { RSA: of('RSA'), EC: of('EC'), Ed25519: of('Ed25519') }
}

/**
 * Each CA's fixed extensions, derived once in the pool's thread and kept for as many CAs as a
 * worker keeps; loading core in every worker would lengthen each thread's start and grow its heap.
 */
export class FixedExtensionsCache {
  readonly #derived = new LruMap<string, Promise<FixedExtensions | undefined>>(DERIVED_CACHE_SIZE)

  /** Never rejects: `undefined` when core cannot read the certificate; the worker then says why. */
  of(ca: SigningCa): Promise<FixedExtensions | undefined> {
    let entry = this.#derived.get(ca.id)
    if (!entry) {
      entry = fixedLeafExtensions(ca.certificate).catch(() => {
        this.#derived.delete(ca.id)
        return undefined
      })
      this.#derived.set(ca.id, entry)
    }
    return entry
  }
}

/** A CA's certificate, key and fixed leaf extensions as they cross to a thread. */
export function caMaterial(ca: SigningCa, fixed: FixedExtensions | undefined): WireCaMaterial {
  // Tight copies: the caller's arrays and the cache stay intact, and only these bytes cross.
  return {
    certificate: ca.certificate.slice().buffer,
    privateKey: ca.privateKey.slice().buffer,
    fixedExtensions: fixed && {
      RSA: fixed.RSA.slice().buffer,
      EC: fixed.EC.slice().buffer,
      Ed25519: fixed.Ed25519.slice().buffer,
    },
  }
}

/** The buffers of CA material that a task moves to its thread rather than copies. */
export function materialTransferList(material: WireCaMaterial): ArrayBuffer[] {
  const fixed = material.fixedExtensions
  const buffers = [material.certificate, material.privateKey]
  return fixed ? [...buffers, fixed.RSA, fixed.EC, fixed.Ed25519] : buffers
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
