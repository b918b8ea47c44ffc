/** Freezes `value` and everything reachable from it, so that it can be shared between readers. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) freezeTree(value)
  return value
}

// Every read of a resource freezes its tree: loops over the values in place, rather than arrays of
// them from Object.values, keep that off the garbage collector.
function freezeTree(value: object): void {
  Object.freeze(value)
  if (Array.isArray(value)) {
    for (const child of value) deepFreeze(child)
    return
  }
  for (const key in value) {
    if (Object.hasOwn(value, key)) deepFreeze((value as Record<string, unknown>)[key])
  }
}
