/**
 * Spec-level Mesh validation (Kuma 2.2 `MeshResource.Validate`), with meshca's decisions applied:
 * no limit on the number of backends (decision 2 of docs/decisions.md) and natural field paths
 * (decision 7 of docs/decisions.md). Backend `conf` is left to the CA plugins, which know its
 * shape.
 */

import { isKeyType, KEY_TYPES } from '../ca/key-types.ts'
import { isKumaDuration, parseKumaDuration } from '../duration.ts'
import type { Violation } from '../errors.ts'
import { indexPath } from '../validation.ts'
import { allowedValuesMessage, JsonReader } from './json-reader.ts'
import type { MeshSpec, MtlsSpec } from './mesh.ts'
import { MTLS_MODES } from './mesh.ts'
import { checkLogging, checkMetrics, checkTracing } from './mesh-observability-validator.ts'
import { checkSelector } from './tag-rules.ts'

export function validateMeshSpec(spec: MeshSpec): Violation[] {
  const r = new JsonReader()
  checkMtls(spec.mtls, r)
  checkLogging(spec.other.logging, r)
  checkTracing(spec.other.tracing, r)
  checkMetrics(spec.other.metrics, r)
  checkConstraints(spec.other.constraints, r)
  checkZoneEgress(spec, r)
  return [...r.violations.violations]
}

function checkMtls(mtls: MtlsSpec | undefined, r: JsonReader): void {
  if (mtls === undefined) return
  const backends = mtls.backends ?? []
  const used = new Set<string>()
  backends.forEach((backend, i) => {
    if (used.has(backend.name)) {
      r.fail(
        `${indexPath('mtls.backends', i)}.name`,
        `${JSON.stringify(backend.name)} name is already used for another backend`
      )
    }
    used.add(backend.name)
  })
  if (mtls.enabledBackend && !used.has(mtls.enabledBackend)) {
    r.fail('mtls.enabledBackend', 'has to be set to one of the backends in the mesh')
  }
  backends.forEach((backend, i) => {
    const at = indexPath('mtls.backends', i)
    // Kuma's rule: once `dpCert` is given, its expiration must parse, so `dpCert: {}` is rejected.
    const expiration = backend.dpCert?.rotation?.expiration ?? ''
    // Kuma requires the expiration once `dpCert` is given; meshca's `keyType` alone does not count.
    const needsExpiration =
      backend.dpCert !== undefined &&
      (backend.dpCert.rotation !== undefined || backend.dpCert.keyType === undefined)
    if (needsExpiration && !isKumaDuration(expiration)) {
      r.fail(`${at}.dpCert.rotation.expiration`, 'has to be a valid format')
    } else if (needsExpiration && parseKumaDuration(expiration) === 0) {
      // Kuma accepts "0" and then issues certificates that are expired when they are made.
      r.fail(`${at}.dpCert.rotation.expiration`, 'must be greater than 0')
    }
    const mode: string | undefined = backend.mode
    if (mode !== undefined && !MTLS_MODES.some((m) => m === mode)) {
      r.fail(`${at}.mode`, allowedValuesMessage(MTLS_MODES))
    }
    const keyType: string | undefined = backend.dpCert?.keyType
    if (keyType !== undefined && !isKeyType(keyType)) {
      r.fail(`${at}.dpCert.keyType`, allowedValuesMessage(KEY_TYPES))
    }
    for (const [path, timeout] of [
      [`${at}.dpCert.requestTimeout`, backend.dpCert?.requestTimeout],
      [`${at}.rootChain.requestTimeout`, backend.rootChain?.requestTimeout],
    ] as const) {
      if (timeout !== undefined && !PROTO_DURATION.test(timeout)) {
        r.fail(path, 'has to be a duration in seconds, such as 10s or 0.5s')
      }
    }
  })
}

/**
 * A protobuf Duration as JSON holds it: decimal seconds and an `s` (`10s`, `0.5s`), not negative.
 * Checked at admission only: a Mesh stored before is still read as it is.
 */
const PROTO_DURATION = /^\d{1,12}(?:\.\d{1,9})?s$/

function checkConstraints(value: unknown, r: JsonReader): void {
  const constraints = r.object(value, 'constraints')
  if (constraints === undefined) return
  const dpp = r.object(constraints.dataplaneProxy, 'constraints.dataplaneProxy')
  if (dpp === undefined) return
  for (const list of ['requirements', 'restrictions'] as const) {
    const path = `constraints.dataplaneProxy.${list}`
    for (const [i, item] of (r.array(dpp[list], path) ?? []).entries()) {
      const at = indexPath(path, i)
      const entry = r.object(item, at) ?? {}
      const tags = r.stringMap(entry.tags, `${at}.tags`) ?? {}
      checkSelector(`${at}.tags`, tags, { requireAtLeastOneTag: true }, (f, m) => r.fail(f, m))
    }
  }
}

/** A zone egress only carries mTLS traffic, so it needs mTLS on (V5). */
function checkZoneEgress(spec: MeshSpec, r: JsonReader): void {
  const routing = r.object(spec.other.routing, 'routing')
  if (routing === undefined) return
  if (r.boolean(routing.zoneEgress, 'routing.zoneEgress') === true && !spec.mtls?.enabledBackend) {
    r.fail('mtls', 'has to be set when zoneEgress enabled')
  }
}
