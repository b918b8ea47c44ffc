/** Polling until a condition holds, for what a test can only observe from outside. */

/**
 * Reads until `done` accepts the value or `timeoutMs` passes (then fails with the last value).
 * Polls at once, then every 25 ms growing to 100 ms: quick conditions pass quickly, and a long wait
 * on a real server does not flood it.
 */
export async function until<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 5_000,
  what = 'condition'
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (let pause = 25; ; pause = Math.min(pause * 2, 100)) {
    const value = await read()
    if (done(value)) return value
    if (Date.now() > deadline) {
      throw new Error(`${what}: not reached in ${timeoutMs} ms; last ${JSON.stringify(value)}`)
    }
    await new Promise((resolve) => setTimeout(resolve, pause))
  }
}
