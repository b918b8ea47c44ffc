/**
 * A Dataplane's outbounds (Universal, no transparent proxy): the local ports its application dials
 * to reach other services of the mesh. The codec keeps them untouched in `networking.other`; this
 * reads them for the data plane configuration and checks them as Kuma's `validateOutbound` does.
 */
import type { Violation } from '../errors.ts'
import { indexPath } from '../validation.ts'
import { isIp } from './addresses.ts'
import { type DataplaneSpec, SERVICE_TAG, type Tags } from './dataplane.ts'
import { isRawObject, keyPath } from './json-reader.ts'
import { checkTags } from './tag-rules.ts'

export interface DataplaneOutbound {
  readonly port: number
  /** Where the agent listens; 127.0.0.1 when absent. */
  readonly address?: string
  /** `kuma.io/service` is always there (the deprecated `service` field is read into it). */
  readonly tags: Tags
}

/** At most this many outbounds are read; more is a violation, not a slow config. */
export const MAX_OUTBOUNDS = 1000

export interface OutboundsReading {
  readonly outbounds: readonly DataplaneOutbound[]
  readonly violations: readonly Violation[]
}

/** The outbounds that are valid, and the violations of the others (paths from `networking`). */
export function readOutbounds(spec: DataplaneSpec): OutboundsReading {
  const raw = spec.networking.other?.outbound
  const violations: Violation[] = []
  if (raw === undefined || raw === null) return { outbounds: [], violations }
  if (!Array.isArray(raw)) {
    return {
      outbounds: [],
      violations: [{ field: 'networking.outbound', message: 'must be an array' }],
    }
  }
  if (raw.length > MAX_OUTBOUNDS) {
    violations.push({
      field: 'networking.outbound',
      message: `must have at most ${MAX_OUTBOUNDS} items`,
    })
    return { outbounds: [], violations }
  }
  const outbounds: DataplaneOutbound[] = []
  raw.forEach((item, i) => {
    const path = indexPath('networking.outbound', i)
    const before = violations.length
    const outbound = readOutbound(item, path, (field, message) =>
      violations.push({ field, message })
    )
    if (outbound !== undefined && violations.length === before) outbounds.push(outbound)
  })
  return { outbounds, violations }
}

type Report = (field: string, message: string) => void

function readOutbound(item: unknown, path: string, report: Report): DataplaneOutbound | undefined {
  if (!isRawObject(item)) {
    report(path, 'must be an object')
    return undefined
  }
  const { port, address, tags, service } = item
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    report(`${path}.port`, 'port must be in the range [1, 65535]')
  }
  if (address !== undefined && address !== '' && (typeof address !== 'string' || !isIp(address))) {
    report(`${path}.address`, 'address has to be valid IP address')
  }
  const tagMap = readTags(tags, service, path, report)
  if (tagMap === undefined || typeof port !== 'number') return undefined
  return {
    port,
    ...(typeof address === 'string' && address !== '' ? { address } : {}),
    tags: tagMap,
  }
}

function readTags(tags: unknown, service: unknown, path: string, report: Report): Tags | undefined {
  if (
    tags === undefined ||
    tags === null ||
    (isRawObject(tags) && Object.keys(tags).length === 0)
  ) {
    // Kuma's deprecated form: `service: backend` instead of tags.
    if (typeof service !== 'string' || service === '') {
      report(keyPath(`${path}.tags`, SERVICE_TAG), 'cannot be empty')
      return undefined
    }
    const fromService = { [SERVICE_TAG]: service }
    checkTags(`${path}.tags`, fromService, {}, report)
    return fromService
  }
  if (!isRawObject(tags)) {
    report(`${path}.tags`, 'must be an object')
    return undefined
  }
  const values: Record<string, string> = {}
  for (const [key, value] of Object.entries(tags)) {
    if (typeof value !== 'string') report(keyPath(`${path}.tags`, key), 'must be a string')
    else values[key] = value
  }
  if (!Object.hasOwn(values, SERVICE_TAG)) {
    report(keyPath(`${path}.tags`, SERVICE_TAG), 'tag has to exist')
  }
  checkTags(`${path}.tags`, values, {}, report)
  return values
}
