/** Freezes `value` and everything reachable from it, so that it can be shared between readers. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) freezeTree(value)
  return value
}

// Runs once per stored version read (the store and the ResourceManager share what they freeze):
// walking the own enumerable properties in place, rather than through an Object.values array per
// object, keeps that off the garbage collector. Arrays too, so that a property set on one is frozen.
function freezeTree(value: object): void {
  Object.freeze(value)
  for (const key in value) {
    if (Object.hasOwn(value, key)) deepFreeze((value as Record<string, unknown>)[key])
  }
}
