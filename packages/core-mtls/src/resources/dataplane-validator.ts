/**
 * Dataplane rules (Kuma `dataplane_validator.go`) for the parts meshca reads: the address, the
 * inbounds and the gateway (identity comes from their tags), and the outbounds the data plane agent
 * listens on. Probes and the rest are not checked here.
 */
import type { Violation } from '../errors.ts'
import { indexPath } from '../validation.ts'
import { isDnsName, isIp } from './addresses.ts'
import type { DataplaneInbound, DataplaneSpec } from './dataplane.ts'
import { SERVICE_TAG } from './dataplane.ts'
import { readOutbounds } from './dataplane-outbounds.ts'
import { keyPath } from './json-reader.ts'
import { checkTags } from './tag-rules.ts'

type Report = (field: string, message: string) => void

export function validateDataplaneSpec(spec: DataplaneSpec): Violation[] {
  const violations: Violation[] = []
  const report: Report = (field, message) => violations.push({ field, message })
  const { networking } = spec
  if (networking.gateway !== undefined) {
    if (networking.inbound.length > 0) {
      const kind = networking.gateway.type === 'BUILTIN' ? 'builtin' : 'delegated'
      report('networking.inbound', `inbound cannot be defined for ${kind} gateways`)
    }
    checkTags('networking.gateway.tags', networking.gateway.tags, { requireService: true }, report)
  } else if (networking.inbound.length === 0) {
    report('networking', 'has to contain at least one inbound interface or gateway')
  }
  checkAddress(networking.address, report)
  networking.inbound.forEach((inbound, i) => {
    checkInbound(inbound, indexPath('networking.inbound', i), report)
  })
  violations.push(...readOutbounds(spec).violations)
  return violations
}

function checkAddress(address: string, report: Report): void {
  const field = 'networking.address'
  if (address === '') {
    report(field, "address can't be empty")
    return
  }
  if (address === '0.0.0.0' || address === '::') report(field, 'must not be 0.0.0.0 or ::')
  if (!isIp(address) && !isDnsName(address)) {
    report(field, 'address has to be valid IP address or domain name')
  }
}

function checkInbound(inbound: DataplaneInbound, path: string, report: Report): void {
  checkPort(inbound.port ?? 0, `${path}.port`, report)
  if (inbound.servicePort !== undefined && inbound.servicePort !== 0) {
    checkPort(inbound.servicePort, `${path}.servicePort`, report)
  }
  if (inbound.address !== undefined && inbound.address !== '' && !isIp(inbound.address)) {
    report(`${path}.address`, 'address has to be valid IP address')
  }
  // `other` is what the codec did not read; a spec built in code may leave it out.
  const serviceAddress = inbound.other?.serviceAddress
  if (
    serviceAddress !== undefined &&
    (typeof serviceAddress !== 'string' || !isIp(serviceAddress))
  ) {
    report(`${path}.serviceAddress`, 'serviceAddress has to be valid IP address')
  }
  checkTags(`${path}.tags`, inbound.tags, {}, report)
  if (!Object.hasOwn(inbound.tags, SERVICE_TAG)) {
    report(keyPath(`${path}.tags`, SERVICE_TAG), 'tag has to exist')
  }
}

function checkPort(port: number, field: string, report: Report): void {
  if (port < 1 || port > 65535) report(field, 'port must be in the range [1, 65535]')
}
