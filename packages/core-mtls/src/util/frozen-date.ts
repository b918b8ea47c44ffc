/**
 * Every way to change a Date in place. `Object.freeze` does not cover them: a Date keeps its time
 * in an internal slot, not in a property.
 */
const SETTERS = [
  'setTime',
  'setMilliseconds',
  'setUTCMilliseconds',
  'setSeconds',
  'setUTCSeconds',
  'setMinutes',
  'setUTCMinutes',
  'setHours',
  'setUTCHours',
  'setDate',
  'setUTCDate',
  'setMonth',
  'setUTCMonth',
  'setFullYear',
  'setUTCFullYear',
  'setYear',
] as const

/** A Date whose setters throw: still a Date to `instanceof`, JSON and every getter. */
class FrozenDate extends Date {}

for (const name of SETTERS) {
  if (!(name in Date.prototype)) continue
  Object.defineProperty(FrozenDate.prototype, name, {
    value(): never {
      throw new TypeError(`Cannot change a shared Date (${name}): copy it first`)
    },
  })
}

/**
 * A Date that can be handed to many readers: what one of them does by mistake cannot change it
 * under the others (a plain Date can be changed through `setTime` and friends even when frozen).
 * A guard, not a wall: `Date.prototype.setTime.call(date, 0)` still changes it. It is a subclass,
 * so deep-equality checks that compare prototypes (`toStrictEqual`, `util.isDeepStrictEqual`) tell
 * it from a plain Date of the same time; `toEqual` and `getTime()` do not.
 */
export function frozenDate(time: Date | number): Date {
  return Object.freeze(new FrozenDate(typeof time === 'number' ? time : time.getTime()))
}
