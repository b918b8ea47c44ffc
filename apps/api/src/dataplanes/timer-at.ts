/**
 * A timer for an instant that may be weeks away. `setTimeout` holds at most 2^31 - 1 ms (24.8 days)
 * and fires at once beyond that, while a 30-day certificate rotates after 24 to 25.5 days; so the
 * wait is cut into legal steps.
 */

const MAX_TIMEOUT_MS = 2 ** 31 - 1

export interface Cancelable {
  cancel(): void
}

/** Runs `fire` at `at` (epoch ms) by `now`'s clock; at once (next turn) when that is past. */
export function timerAt(at: number, now: () => number, fire: () => void): Cancelable {
  let handle: ReturnType<typeof setTimeout> | undefined
  let canceled = false
  const arm = () => {
    if (canceled) return
    const remaining = at - now()
    if (remaining <= 0) {
      handle = undefined
      fire()
      return
    }
    handle = setTimeout(arm, Math.min(remaining, MAX_TIMEOUT_MS))
    // A pending rotation must not keep a process (or a test worker) alive on its own.
    handle.unref?.()
  }
  handle = setTimeout(arm, 0)
  handle.unref?.()
  return {
    cancel() {
      canceled = true
      if (handle !== undefined) clearTimeout(handle)
    },
  }
}

export function timerAfter(delayMs: number, fire: () => void): Cancelable {
  const handle = setTimeout(fire, Math.max(0, delayMs))
  handle.unref?.()
  return { cancel: () => clearTimeout(handle) }
}
