/**
 * When a Mesh update may change the CA that online data planes rely on. Data planes
 * trust the roots in the bundle they last received, and say so by backend name (their insight's
 * `supportedBackends`); a change that would make them present, or meet, certificates of a root they
 * do not hold yet breaks their connections until the re-issue window has passed. Such changes are
 * refused with the count of data planes affected, unless `allowUnsafeBackendSwitch`:
 * - switching `enabledBackend` to a backend some online data plane does not list yet;
 * - switching to a backend this same update adds or changes;
 * - replacing the CA of a backend online data planes trust (list as supported, or hold a certificate
 *   of) in place: another type, or a root of another subject or key under its name (a root renewed
 *   with its own key is the same CA). Trust is by name: they would keep trusting the old root as
 *   that backend until their next bundle, and a switch to it right away would pass the gate;
 * - removing a backend whose certificates online data planes still hold.
 * The safe way to any of these: add a backend, wait until every data plane supports it, switch,
 * wait until every data plane holds a certificate of it, remove the old one.
 */
import type { CaContext } from '../ca/ca-backend.ts'
import { parseCaCertificate } from '../ca/ca-certificate-checks.ts'
import type { CaBackendRegistry } from '../ca/registry.ts'
import { isMeshcaError, type Violation } from '../errors.ts'
import type { DataplaneInsightSpec } from '../resources/dataplane-insight.ts'
import { type CaBackendSpec, type MeshSpec, mtlsEnabled } from '../resources/mesh.ts'
import { bytesEqual } from '../util/bytes.ts'
import { jsonEqual } from '../util/json-equal.ts'

/** A data plane counts as online while its newest subscription has not disconnected. */
export function isOnline(insight: DataplaneInsightSpec): boolean {
  const last = insight.subscriptions.at(-1)
  if (!last) return false
  return last.connectTime !== undefined && last.disconnectTime === undefined
}

export interface CaChangeGateDeps {
  /** The insights of the mesh's data planes, online or not. */
  insights(): Promise<readonly DataplaneInsightSpec[]>
  /**
   * The root certificate (DER) data planes would have to trust for `backend`: the last of its CA
   * certificates; `undefined` when its material cannot be loaded (validation reports why).
   */
  root(backend: CaBackendSpec): Promise<Uint8Array | undefined>
}

/**
 * Whether a verifier holding root `trusted` accepts what root `next` signs: the same subject and
 * key. A root renewed with its own key (new validity, new serial) is the same trust anchor.
 */
export function sameTrustAnchor(trusted: Uint8Array, next: Uint8Array): boolean {
  if (bytesEqual(trusted, next)) return true
  try {
    const [a, b] = [parseCaCertificate(trusted), parseCaCertificate(next)]
    return bytesEqual(a.subjectDer, b.subjectDer) && bytesEqual(a.spki, b.spki)
  } catch {
    return false
  }
}

function proxies(count: number): string {
  return `${count} online data plane ${count === 1 ? 'proxy does' : 'proxies do'}`
}

/** Violations of an update from `previous` to `next`; empty when nothing online is at risk. */
export async function caChangeViolations(
  deps: CaChangeGateDeps,
  next: MeshSpec,
  previous: MeshSpec
): Promise<Violation[]> {
  // Turning mTLS on or off is a mode change: every data plane moves together.
  if (!mtlsEnabled(previous) || !mtlsEnabled(next)) return []
  const online = (await deps.insights()).filter(isOnline)
  if (online.length === 0) return []
  const enabled = next.mtls?.enabledBackend ?? ''
  if (enabled !== (previous.mtls?.enabledBackend ?? '')) {
    const refused = switchViolations(online, next, previous, enabled)
    if (refused.length > 0) return refused
  }
  const replaced = await replacedInPlace(deps, online, next, previous, enabled)
  if (replaced.length > 0) return replaced
  return removalViolations(online, next, previous)
}

/** The online data planes that trust `backend`: list it as supported, or hold its certificate. */
export function trusting(online: readonly DataplaneInsightSpec[], backend: string): number {
  return online.filter(
    (i) => i.mTLS?.issuedBackend === backend || (i.mTLS?.supportedBackends ?? []).includes(backend)
  ).length
}

/** Why a backend may not take another CA under its name while `count` online data planes trust it. */
export function inPlaceReplacementMessage(
  backend: string,
  enabled: boolean,
  count: number
): string {
  const which = enabled ? `the enabled backend "${backend}"` : `backend "${backend}"`
  return `Replacing the CA of ${which} in place is forbidden while data plane proxies use it: ${proxies(count)} not trust the new CA yet. Add the new CA as another backend, wait until every data plane proxy supports it, switch enabledBackend to it, then remove "${backend}"`
}

function switchViolations(
  online: readonly DataplaneInsightSpec[],
  next: MeshSpec,
  previous: MeshSpec,
  enabled: string
): Violation[] {
  const untrusting = online.filter(
    (i) => !(i.mTLS?.supportedBackends ?? []).includes(enabled)
  ).length
  if (untrusting > 0) {
    return [
      {
        field: 'mtls.enabledBackend',
        message: `Changing CA when mTLS is enabled is forbidden while data plane proxies do not trust the new CA: ${proxies(untrusting)} not list backend "${enabled}" in their supported backends yet. Add the backend, wait until every data plane proxy supports it, then switch`,
      },
    ]
  }
  const before = previous.mtls?.backends?.find((b) => b.name === enabled)
  const after = next.mtls?.backends?.find((b) => b.name === enabled)
  // Data planes trust a backend by name: what they support is the backend as it was, not the CA
  // this very update adds or puts under that name.
  if (jsonEqual(before, after)) return []
  return [
    {
      field: 'mtls.enabledBackend',
      message: `Changing CA when mTLS is enabled is forbidden in the same update that adds or changes backend "${enabled}": ${proxies(online.length)} not trust it yet. Add or change the backend, wait until every data plane proxy supports it, then switch`,
    },
  ]
}

/** Backends this update gives another CA under the same name while online data planes trust them. */
async function replacedInPlace(
  deps: CaChangeGateDeps,
  online: readonly DataplaneInsightSpec[],
  next: MeshSpec,
  previous: MeshSpec,
  enabled: string
): Promise<Violation[]> {
  const violations: Violation[] = []
  for (const [index, after] of (next.mtls?.backends ?? []).entries()) {
    const before = previous.mtls?.backends?.find((b) => b.name === after.name)
    if (before === undefined || jsonEqual(before, after)) continue
    const count = trusting(online, after.name)
    if (count === 0 || !(await caReplaced(deps, before, after))) continue
    violations.push({
      field: `mtls.backends[${index}]`,
      message: inPlaceReplacementMessage(after.name, after.name === enabled, count),
    })
  }
  return violations
}

async function caReplaced(
  deps: CaChangeGateDeps,
  before: CaBackendSpec,
  after: CaBackendSpec
): Promise<boolean> {
  if (before.type !== after.type) return true
  const [oldRoot, newRoot] = await Promise.all([deps.root(before), deps.root(after)])
  // Material that does not load is validation's to report.
  if (oldRoot === undefined || newRoot === undefined) return false
  return !sameTrustAnchor(oldRoot, newRoot)
}

function removalViolations(
  online: readonly DataplaneInsightSpec[],
  next: MeshSpec,
  previous: MeshSpec
): Violation[] {
  const kept = new Set((next.mtls?.backends ?? []).map((b) => b.name))
  const violations: Violation[] = []
  for (const removed of previous.mtls?.backends ?? []) {
    if (kept.has(removed.name)) continue
    const holders = online.filter((i) => i.mTLS?.issuedBackend === removed.name).length
    if (holders === 0) continue
    // Their peers would drop its root from their bundles while these certificates are in use.
    violations.push({
      field: 'mtls.backends',
      message: `Removing backend "${removed.name}" is forbidden while data plane proxies hold certificates it issued: ${proxies(holders)}. Wait until they are re-issued by the enabled backend, then remove it`,
    })
  }
  return violations
}

/** The root data planes would have to trust for `backend`: the last of its CA certificates. */
export async function caRoot(
  caBackends: CaBackendRegistry,
  context: CaContext,
  mesh: string,
  backend: CaBackendSpec
): Promise<Uint8Array | undefined> {
  try {
    return (await caBackends.get(backend.type)?.load(context, mesh, backend))?.certificates.at(-1)
  } catch (error) {
    if (isMeshcaError(error, 'CA_UNAVAILABLE')) return undefined
    throw error
  }
}

export interface SecretChange {
  insights(): Promise<readonly DataplaneInsightSpec[]>
  /** The backend's root with the stored Secret, and with the proposed one. */
  before(): Promise<Uint8Array | undefined>
  after(): Promise<Uint8Array | undefined>
  readonly backend: string
  readonly enabled: boolean
}

/**
 * Why a Secret change that gives a backend data planes trust another root is refused while they
 * are online (the Secret twin of replacing the backend in place), or `undefined`.
 */
export async function secretReplacesTrustedRoot(change: SecretChange): Promise<string | undefined> {
  const count = trusting((await change.insights()).filter(isOnline), change.backend)
  if (count === 0) return undefined
  const [before, after] = await Promise.all([change.before(), change.after()])
  if (before === undefined || after === undefined || sameTrustAnchor(before, after))
    return undefined
  return inPlaceReplacementMessage(change.backend, change.enabled, count)
}
