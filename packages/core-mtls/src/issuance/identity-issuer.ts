import type { CaContext, LoadedCa } from '../ca/ca-backend.ts'
import { DEFAULT_DATAPLANE_KEY_TYPE, type KeyType } from '../ca/key-types.ts'
import { encodePem } from '../ca/pem.ts'
import { parsePkcs8, privateKeyToPem } from '../ca/private-key.ts'
import { type CaBackendRegistry, caBackendFor } from '../ca/registry.ts'
import { parseKumaDuration } from '../duration.ts'
import { isMeshcaError, MeshcaError, toMeshcaError } from '../errors.ts'
import { BACKDATE_MS, DEFAULT_DATAPLANE_CERT_LIFETIME_MS } from '../identity/leaf-profile.ts'
import { identityUris } from '../identity/spiffe.ts'
import type { IssuedLeaf, LeafRequest, Signer, SubjectKey } from '../ports/signer.ts'
import { type DataplaneSpec, dataplaneTagSet } from '../resources/dataplane.ts'
import {
  backendMode,
  type CaBackendSpec,
  enabledBackend,
  type MeshSpec,
  type MtlsMode,
} from '../resources/mesh.ts'
import { toHex } from '../util/bytes.ts'
import { verifiedCsrPublicKey } from './csr.ts'
import { DEFAULT_ROTATION_JITTER, rotationInstant } from './rotation.ts'
import { trustBundlePem } from './trust-bundle.ts'

/** What a data plane receives: its identity, the mesh's trust bundle, and when to come back. */
export interface DataplaneIdentity {
  readonly mode: MtlsMode
  readonly mesh: string
  readonly dataplane: string
  /** The backend that signed the certificate (`issuedBackend` in insights). */
  readonly backend: string
  /** Every backend whose root is in the bundle (`supportedBackends`). */
  readonly supportedBackends: readonly string[]
  /**
   * Leaf first, then the intermediates of a provided CA, closest first (decision 21 of
   * docs/decisions.md).
   */
  readonly certificateChainPem: string
  /** Absent in the CSR flow: the key never left the data plane. */
  readonly privateKeyPem?: string
  readonly trustBundlePem: string
  readonly serialNumber: string
  readonly uris: readonly string[]
  readonly generation: Date
  readonly expiration: Date
  readonly rotateAt: Date
}

export type IdentityResult = DataplaneIdentity | { readonly mode: 'DISABLED' }

export interface IdentityRequest {
  readonly mesh: string
  readonly meshSpec: MeshSpec
  readonly dataplane: string
  readonly dataplaneSpec: DataplaneSpec
  /** PEM PKCS#10 request: the CSR flow (decision 17 of docs/decisions.md). */
  readonly csr?: string
}

export interface IdentityIssuerOptions {
  readonly ctx: CaContext
  readonly caBackends: CaBackendRegistry
  readonly signer: Signer
  /** Fraction of the lifetime over which rotation is spread (decision 18 of docs/decisions.md). */
  readonly rotationJitter?: number
}

export interface MeshTrust {
  readonly enabled: LoadedCa
  readonly all: readonly LoadedCa[]
  readonly trustBundlePem: string
}

export function dataplaneCertLifetimeMs(backend: CaBackendSpec): number {
  const expiration = backend.dpCert?.rotation?.expiration
  if (expiration === undefined || expiration === '') return DEFAULT_DATAPLANE_CERT_LIFETIME_MS
  return parseKumaDuration(expiration)
}

/** A positive serial in [1, 2^128 - 1], as Kuma draws it. */
function randomSerial(ctx: CaContext): Uint8Array {
  for (;;) {
    const serial = ctx.random.bytes(16)
    if (serial.some((b) => b !== 0)) return serial
  }
}

/**
 * Issues data plane identities for a mesh. Loading CA material and signing are the expensive parts;
 * `issueMany` loads the mesh's CAs once and hands the signer one batch.
 */
export interface IdentityIssuer {
  /** The CAs of a mesh and its trust bundle; undefined when mTLS is off. */
  loadMeshTrust(mesh: string, meshSpec: MeshSpec): Promise<MeshTrust | undefined>
  /** One result per request, in order; a failure of one request does not fail the others. */
  issueMany(requests: readonly IdentityRequest[]): Promise<(IdentityResult | MeshcaError)[]>
  issue(request: IdentityRequest): Promise<IdentityResult>
}

/** A plain object of functions, so that callers may pass its methods around or spread it. */
export function createIdentityIssuer(options: IdentityIssuerOptions): IdentityIssuer {
  const issuer = new MeshIdentityIssuer(options)
  return {
    loadMeshTrust: (mesh, meshSpec) => issuer.loadMeshTrust(mesh, meshSpec),
    issueMany: (requests) => issuer.issueMany(requests),
    issue: (request) => issuer.issue(request),
  }
}

/** The CAs of a mesh and its trust bundle; undefined when mTLS is off. */
async function loadMeshTrust(
  ctx: CaContext,
  caBackends: CaBackendRegistry,
  mesh: string,
  meshSpec: MeshSpec
): Promise<MeshTrust | undefined> {
  const enabledSpec = enabledBackend(meshSpec)
  if (!enabledSpec) return undefined
  const backends = meshSpec.mtls?.backends ?? []
  const settled = await Promise.allSettled(
    backends.map(async (b) => caBackendFor(caBackends, b.type).load(ctx, mesh, b))
  )
  const all: LoadedCa[] = []
  settled.forEach((outcome, i) => {
    const spec = backends[i]
    if (outcome.status === 'fulfilled') {
      all.push(outcome.value)
    } else if (spec?.name === enabledSpec.name) {
      throw outcome.reason
    } else {
      // Another backend being broken must not stop issuance; it is left out of the bundle and
      // of supportedBackends, so the safe-switch rule will not let the mesh move to it.
      ctx.logger.log('warn', 'CA backend left out of the trust bundle: it cannot be loaded', {
        mesh,
        backend: spec?.name ?? '',
        reason: outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason),
      })
    }
  })
  const enabled = all.find((ca) => ca.backend === enabledSpec.name)
  if (!enabled) {
    throw new MeshcaError(
      'CA_UNAVAILABLE',
      `CA default backend in mesh "${mesh}" has to be defined`
    )
  }
  return { enabled, all, trustBundlePem: trustBundlePem(all) }
}

/** A request of a batch, ready for the signer. */
interface PreparedLeaf {
  readonly index: number
  readonly leaf: LeafRequest
  readonly generation: Date
}

type IssueResult = IdentityResult | MeshcaError

/** What the leaves of one mesh's batch share. */
interface LeafProfile {
  readonly lifetimeMs: number
  readonly keyType: KeyType
  /** A certificate never outlives its CA. */
  readonly caNotAfter: Date
}

class MeshIdentityIssuer implements IdentityIssuer {
  readonly #ctx: CaContext
  readonly #caBackends: CaBackendRegistry
  readonly #signer: Signer
  readonly #jitter: number

  constructor(options: IdentityIssuerOptions) {
    this.#ctx = options.ctx
    this.#caBackends = options.caBackends
    this.#signer = options.signer
    this.#jitter = options.rotationJitter ?? DEFAULT_ROTATION_JITTER
  }

  loadMeshTrust(mesh: string, meshSpec: MeshSpec): Promise<MeshTrust | undefined> {
    return loadMeshTrust(this.#ctx, this.#caBackends, mesh, meshSpec)
  }

  async issue(request: IdentityRequest): Promise<IdentityResult> {
    const [result] = await this.issueMany([request])
    if (result === undefined) throw new MeshcaError('INTERNAL', 'no identity was produced')
    if (isMeshcaError(result)) throw result
    return result
  }

  async issueMany(requests: readonly IdentityRequest[]): Promise<IssueResult[]> {
    const results: IssueResult[] = new Array(requests.length)
    // Requests are grouped by mesh so that each mesh's CAs load once and go to the signer as one
    // batch.
    const byMesh = new Map<string, number[]>()
    requests.forEach((request, index) => {
      const group = byMesh.get(request.mesh) ?? []
      group.push(index)
      byMesh.set(request.mesh, group)
    })
    for (const indexes of byMesh.values()) await this.#issueMesh(requests, indexes, results)
    return results
  }

  /** Issues the requests at `indexes`, all of one mesh, into `results`. */
  async #issueMesh(
    requests: readonly IdentityRequest[],
    indexes: readonly number[],
    results: IssueResult[]
  ): Promise<void> {
    const first = requests[indexes[0] ?? 0]
    if (!first) return
    const backendSpec = enabledBackend(first.meshSpec)
    if (!backendSpec) {
      for (const i of indexes) results[i] = { mode: 'DISABLED' }
      return
    }
    let trust: MeshTrust
    try {
      const loaded = await this.loadMeshTrust(first.mesh, first.meshSpec)
      if (!loaded) throw new MeshcaError('CA_UNAVAILABLE', 'mTLS is not enabled')
      trust = loaded
    } catch (error) {
      const failure = toMeshcaError(error, 'CA_UNAVAILABLE', 'could not load the CAs of the mesh')
      for (const i of indexes) results[i] = failure
      return
    }
    const profile: LeafProfile = {
      lifetimeMs: dataplaneCertLifetimeMs(backendSpec),
      keyType: backendSpec.dpCert?.keyType ?? DEFAULT_DATAPLANE_KEY_TYPE,
      caNotAfter: trust.enabled.validity.notAfter,
    }
    const prepared: PreparedLeaf[] = []
    for (const i of indexes) {
      const request = requests[i]
      if (!request) continue
      try {
        prepared.push(await this.#prepare(i, request, profile))
      } catch (error) {
        results[i] = toMeshcaError(error, 'INVALID', 'could not prepare the certificate request')
      }
    }
    if (prepared.length === 0) return
    const outcomes = await this.#signer.issue(
      trust.enabled.signing,
      prepared.map((p) => p.leaf)
    )
    const issued = new IssuedIdentities(backendSpec, trust, this.#jitter, this.#ctx)
    prepared.forEach((p, k) => {
      const outcome = outcomes[k]
      const request = requests[p.index]
      if (!outcome || !request) return
      results[p.index] = outcome.ok ? issued.identity(request, p, outcome.leaf) : outcome.error
    })
  }

  async #prepare(
    index: number,
    request: IdentityRequest,
    profile: LeafProfile
  ): Promise<PreparedLeaf> {
    const ctx = this.#ctx
    const generation = ctx.clock.now()
    // x509 keeps whole seconds. Kuma truncates NotAfter, which cuts up to a second off a
    // short certificate; meshca rounds up, so a certificate lives at least its configured
    // lifetime and rotation (4/5 of the real lifetime) stays before its end.
    // A certificate never outlives its CA: past the CA's NotAfter no peer would accept it.
    const end = Math.min(generation.getTime() + profile.lifetimeMs, profile.caNotAfter.getTime())
    const notAfter = new Date(Math.ceil(end / 1000) * 1000)
    const subjectKey: SubjectKey = request.csr
      ? { spki: await verifiedCsrPublicKey(ctx.crypto, request.csr) }
      : { generate: profile.keyType }
    return {
      index,
      generation,
      leaf: {
        subjectKey,
        serialNumber: randomSerial(ctx),
        notBefore: new Date(generation.getTime() - BACKDATE_MS),
        notAfter,
        uris: identityUris(request.mesh, dataplaneTagSet(request.dataplaneSpec)),
      },
    }
  }
}

/** What the identities of one signed batch share: the backend, the chain's tail, the bundle. */
class IssuedIdentities {
  readonly #backendSpec: CaBackendSpec
  readonly #trust: MeshTrust
  readonly #jitter: number
  readonly #ctx: CaContext
  readonly #intermediatesPem: readonly string[]
  readonly #supportedBackends: readonly string[]

  constructor(backendSpec: CaBackendSpec, trust: MeshTrust, jitter: number, ctx: CaContext) {
    this.#backendSpec = backendSpec
    this.#trust = trust
    this.#jitter = jitter
    this.#ctx = ctx
    this.#intermediatesPem = trust.enabled.intermediates.map((der) => encodePem('CERTIFICATE', der))
    this.#supportedBackends = trust.all.map((ca) => ca.backend)
  }

  identity(request: IdentityRequest, prepared: PreparedLeaf, leaf: IssuedLeaf): DataplaneIdentity {
    const { certificate, privateKey } = leaf
    const expiration = prepared.leaf.notAfter
    return {
      mode: backendMode(this.#backendSpec),
      mesh: request.mesh,
      dataplane: request.dataplane,
      backend: this.#backendSpec.name,
      supportedBackends: this.#supportedBackends,
      certificateChainPem: [encodePem('CERTIFICATE', certificate), ...this.#intermediatesPem].join(
        ''
      ),
      ...(privateKey ? { privateKeyPem: privateKeyToPem(parsePkcs8(privateKey)) } : {}),
      trustBundlePem: this.#trust.trustBundlePem,
      serialNumber: toHex(prepared.leaf.serialNumber),
      uris: prepared.leaf.uris,
      generation: prepared.generation,
      expiration,
      rotateAt: rotationInstant({
        generation: prepared.generation,
        expiration,
        jitter: this.#jitter,
        unit: this.#ctx.random.unit(),
      }),
    }
  }
}
