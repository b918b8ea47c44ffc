import type { CaContext, LoadedCa } from '../ca/ca-backend.ts'
import { DEFAULT_DATAPLANE_KEY_TYPE } from '../ca/key-types.ts'
import { encodePem } from '../ca/pem.ts'
import { parsePkcs8, privateKeyToPem } from '../ca/private-key.ts'
import { type CaBackendRegistry, caBackendFor } from '../ca/registry.ts'
import { parseKumaDuration } from '../duration.ts'
import { isMeshcaError, MeshcaError, toMeshcaError } from '../errors.ts'
import { BACKDATE_MS, DEFAULT_DATAPLANE_CERT_LIFETIME_MS } from '../identity/leaf-profile.ts'
import { identityUris } from '../identity/spiffe.ts'
import type { LeafRequest, Signer, SubjectKey } from '../ports/signer.ts'
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
  /** Leaf first, then the intermediates of a provided CA, closest first (decision 21). */
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
  /** PEM PKCS#10 request: the CSR flow (decision 17). */
  readonly csr?: string
}

export interface IdentityIssuerOptions {
  readonly ctx: CaContext
  readonly caBackends: CaBackendRegistry
  readonly signer: Signer
  /** Fraction of the lifetime over which rotation is spread (decision 18). */
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

export function createIdentityIssuer(options: IdentityIssuerOptions): IdentityIssuer {
  const { ctx, caBackends, signer } = options
  const jitter = options.rotationJitter ?? DEFAULT_ROTATION_JITTER

  async function loadMeshTrust(mesh: string, meshSpec: MeshSpec): Promise<MeshTrust | undefined> {
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

  async function issueMany(
    requests: readonly IdentityRequest[]
  ): Promise<(IdentityResult | MeshcaError)[]> {
    const results: (IdentityResult | MeshcaError)[] = new Array(requests.length)
    // Requests are grouped by mesh so that each mesh's CAs load once and go to the signer as one batch.
    const byMesh = new Map<string, number[]>()
    requests.forEach((request, index) => {
      const group = byMesh.get(request.mesh) ?? []
      group.push(index)
      byMesh.set(request.mesh, group)
    })
    for (const indexes of byMesh.values()) {
      const first = requests[indexes[0] ?? 0]
      if (!first) continue
      const backendSpec = enabledBackend(first.meshSpec)
      if (!backendSpec) {
        for (const i of indexes) results[i] = { mode: 'DISABLED' }
        continue
      }
      let trust: MeshTrust
      try {
        const loaded = await loadMeshTrust(first.mesh, first.meshSpec)
        if (!loaded) throw new MeshcaError('CA_UNAVAILABLE', 'mTLS is not enabled')
        trust = loaded
      } catch (error) {
        const failure = toMeshcaError(error, 'CA_UNAVAILABLE', 'could not load the CAs of the mesh')
        for (const i of indexes) results[i] = failure
        continue
      }
      const lifetime = dataplaneCertLifetimeMs(backendSpec)
      const keyType = backendSpec.dpCert?.keyType ?? DEFAULT_DATAPLANE_KEY_TYPE
      const prepared: { index: number; leaf: LeafRequest; generation: Date }[] = []
      for (const i of indexes) {
        const request = requests[i]
        if (!request) continue
        try {
          const generation = ctx.clock.now()
          // x509 keeps whole seconds. Kuma truncates NotAfter, which cuts up to a second off a
          // short certificate; meshca rounds up, so a certificate lives at least its configured
          // lifetime and rotation (4/5 of the real lifetime) stays before its end.
          // A certificate never outlives its CA: past the CA's NotAfter no peer would accept it.
          const end = Math.min(
            generation.getTime() + lifetime,
            trust.enabled.validity.notAfter.getTime()
          )
          const notAfter = new Date(Math.ceil(end / 1000) * 1000)
          const subjectKey: SubjectKey = request.csr
            ? { spki: await verifiedCsrPublicKey(ctx.crypto, request.csr) }
            : { generate: keyType }
          prepared.push({
            index: i,
            generation,
            leaf: {
              subjectKey,
              serialNumber: randomSerial(ctx),
              notBefore: new Date(generation.getTime() - BACKDATE_MS),
              notAfter,
              uris: identityUris(request.mesh, dataplaneTagSet(request.dataplaneSpec)),
            },
          })
        } catch (error) {
          results[i] = toMeshcaError(error, 'INVALID', 'could not prepare the certificate request')
        }
      }
      if (prepared.length === 0) continue
      const outcomes = await signer.issue(
        trust.enabled.signing,
        prepared.map((p) => p.leaf)
      )
      const intermediatesPem = trust.enabled.intermediates.map((der) =>
        encodePem('CERTIFICATE', der)
      )
      const supportedBackends = trust.all.map((ca) => ca.backend)
      prepared.forEach((p, k) => {
        const outcome = outcomes[k]
        const request = requests[p.index]
        if (!outcome || !request) return
        if (!outcome.ok) {
          results[p.index] = outcome.error
          return
        }
        const { certificate, privateKey } = outcome.leaf
        const expiration = p.leaf.notAfter
        results[p.index] = {
          mode: backendMode(backendSpec),
          mesh: request.mesh,
          dataplane: request.dataplane,
          backend: backendSpec.name,
          supportedBackends,
          certificateChainPem: [encodePem('CERTIFICATE', certificate), ...intermediatesPem].join(
            ''
          ),
          ...(privateKey ? { privateKeyPem: privateKeyToPem(parsePkcs8(privateKey)) } : {}),
          trustBundlePem: trust.trustBundlePem,
          serialNumber: toHex(p.leaf.serialNumber),
          uris: p.leaf.uris,
          generation: p.generation,
          expiration,
          rotateAt: rotationInstant({
            generation: p.generation,
            expiration,
            jitter,
            unit: ctx.random.unit(),
          }),
        }
      })
    }
    return results
  }

  return {
    loadMeshTrust,
    issueMany,
    async issue(request: IdentityRequest): Promise<IdentityResult> {
      const [result] = await issueMany([request])
      if (result === undefined) throw new MeshcaError('INTERNAL', 'no identity was produced')
      if (isMeshcaError(result)) throw result
      return result
    },
  }
}
