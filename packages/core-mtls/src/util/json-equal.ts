/**
 * Equality of JSON values as a reader sees them: members compared by name, whatever their order.
 * What a client sends back after reading a resource may list members in another order; it is still
 * the same configuration.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]))
  }
  const left = definedEntries(a as Record<string, unknown>)
  const right = definedEntries(b as Record<string, unknown>)
  if (left.size !== right.size) return false
  for (const [key, value] of left) {
    if (!right.has(key) || !jsonEqual(value, right.get(key))) return false
  }
  return true
}

/** `undefined` members are absent in JSON. */
function definedEntries(value: Record<string, unknown>): Map<string, unknown> {
  return new Map(Object.entries(value).filter(([, item]) => item !== undefined))
}
