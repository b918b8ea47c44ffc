/** TrafficPermission rules (Kuma `traffic_permission_validator.go`). */
import type { Violation } from '../errors.ts'
import { indexPath } from '../validation.ts'
import { checkSelector } from './tag-rules.ts'
import type { Selector, TrafficPermissionSpec } from './traffic-permission.ts'

export function validateTrafficPermissionSpec(spec: TrafficPermissionSpec): Violation[] {
  const violations: Violation[] = []
  const report = (field: string, message: string) => violations.push({ field, message })
  checkSelectors('sources', spec.sources, report)
  checkSelectors('destinations', spec.destinations, report)
  return violations
}

function checkSelectors(
  path: string,
  selectors: readonly Selector[],
  report: (field: string, message: string) => void
): void {
  if (selectors.length === 0) report(path, 'must have at least one element')
  selectors.forEach((selector, i) => {
    checkSelector(
      `${indexPath(path, i)}.match`,
      selector.match,
      { requireAtLeastOneTag: true },
      report
    )
  })
}
