/**
 * Concurrent reads of one key share a query, without ever answering a read with data older than
 * the read itself: a read that arrives while a query for its key is running does not join that
 * query (it may have started before a write the caller has already seen complete) but waits for
 * the next one, which every read arriving meanwhile shares. Each read is therefore served by a
 * query that started after it was made and finished before it returned — the same guarantee as a
 * query of its own — while a hot key costs the database one query per round trip instead of one
 * per caller.
 */
export type CoalescedRead<K, V> = (key: K) => Promise<V>

interface Pending<V> {
  readonly promise: Promise<V>
  readonly resolve: (value: V) => void
  readonly reject: (reason: unknown) => void
}

interface KeyState<V> {
  running: boolean
  /** The query that starts when the running one ends; shared by everyone who arrived meanwhile. */
  next: Pending<V> | undefined
}

/**
 * `load` runs at most once at a time per `idOf(key)`. Its result is handed to every read it serves,
 * so it must be immutable (or copied by the caller).
 */
export function coalesceReads<K, V>(
  idOf: (key: K) => string,
  load: (key: K) => Promise<V>
): CoalescedRead<K, V> {
  const keys = new Map<string, KeyState<V>>()

  function run(id: string, key: K, state: KeyState<V>): Promise<V> {
    state.running = true
    let result: Promise<V>
    try {
      result = load(key)
    } catch (error) {
      result = Promise.reject(error)
    }
    const settle = () => {
      const waiting = state.next
      state.next = undefined
      if (waiting === undefined) {
        state.running = false
        keys.delete(id)
        return
      }
      run(id, key, state).then(waiting.resolve, waiting.reject)
    }
    result.then(settle, settle)
    return result
  }

  return (key) => {
    const id = idOf(key)
    let state = keys.get(id)
    if (state === undefined) {
      state = { running: false, next: undefined }
      keys.set(id, state)
    }
    if (!state.running) return run(id, key, state)
    if (state.next === undefined) {
      let resolve!: (value: V) => void
      let reject!: (reason: unknown) => void
      const promise = new Promise<V>((res, rej) => {
        resolve = res
        reject = rej
      })
      state.next = { promise, resolve, reject }
    }
    return state.next.promise
  }
}
