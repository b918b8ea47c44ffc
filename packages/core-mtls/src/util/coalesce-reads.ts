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

export interface CoalesceOptions {
  /**
   * When a query starts once the first read of a batch arrived: at once by default. A database that
   * runs queries on the calling thread (PGlite) finishes a query before the next request is even
   * parsed, so nothing could ever join it; deferring the start to after the current I/O phase
   * (`setImmediate`) lets every read of that phase share it.
   */
  readonly startQuery?: (start: () => void) => void
}

interface Batch<V> {
  readonly promise: Promise<V>
  readonly resolve: (value: V) => void
  readonly reject: (reason: unknown) => void
}

interface KeyState<K, V> {
  readonly key: K
  running: boolean
  /** The reads the next query serves; it starts when none is running. */
  next: Batch<V> | undefined
}

function newBatch<V>(): Batch<V> {
  let resolve!: (value: V) => void
  let reject!: (reason: unknown) => void
  const promise = new Promise<V>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/**
 * `loadKey` runs at most once at a time per `idOf(key)`. Its result is handed to every read it serves,
 * so it must be immutable (or copied by the caller).
 */
export function coalesceReads<K, V>(
  idOf: (key: K) => string,
  loadKey: (key: K) => Promise<V>,
  options: CoalesceOptions = {}
): CoalescedRead<K, V> {
  const keys = new Map<string, KeyState<K, V>>()
  const startQuery = options.startQuery ?? ((start: () => void) => start())

  /** Starts the key's query; a throw comes out as a rejection. */
  function load(state: KeyState<K, V>): Promise<V> {
    state.running = true
    try {
      return loadKey(state.key)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** Once a key's query settled: the reads that arrived during it waited already, theirs starts now. */
  function settled(id: string, state: KeyState<K, V>): void {
    state.running = false
    start(id, state)
  }

  /** Runs the key's query now; the reads arriving meanwhile gather in `state.next`. */
  function launch(id: string, state: KeyState<K, V>): Promise<V> {
    const result = load(state)
    const settle = () => settled(id, state)
    result.then(settle, settle)
    return result
  }

  /** `launch` for a read that no other read shares; its promise is the caller's own. */
  function launchLone(id: string, state: KeyState<K, V>): Promise<V> {
    return load(state).then(
      (value) => {
        settled(id, state)
        return value
      },
      (error: unknown) => {
        settled(id, state)
        throw error
      }
    )
  }

  function start(id: string, state: KeyState<K, V>): void {
    const batch = state.next
    if (batch === undefined) {
      keys.delete(id)
      return
    }
    state.next = undefined
    launch(id, state).then(batch.resolve, batch.reject)
  }

  return (key) => {
    const id = idOf(key)
    let state = keys.get(id)
    if (state === undefined) {
      state = { key, running: false, next: undefined }
      keys.set(id, state)
      // Nothing runs for this key and its query would start at once: no other read can join it, so
      // it needs no batch of its own, and the query's one reaction both settles the key and hands
      // the result on (one promise and one microtask less than `launch`, on every lone read).
      if (options.startQuery === undefined) return launchLone(id, state)
    }
    const joined = state.next
    if (joined !== undefined) return joined.promise
    const batch = newBatch<V>()
    state.next = batch
    if (!state.running) {
      const scheduled = state
      startQuery(() => {
        if (!scheduled.running) start(id, scheduled)
      })
    }
    return batch.promise
  }
}
