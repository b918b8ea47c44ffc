/**
 * The LISTEN connection of a store on a PostgreSQL server, managed here rather than with
 * `sql.listen`, which silently drops its listeners when re-subscribing fails while the server is
 * down.
 */
import { clearTimeout, setTimeout } from 'node:timers'
import type { Logger } from '@meshca/core-mtls'
import type postgres from 'postgres'
import type { ListenHandle, ListenHandlers } from '../driver.ts'

export type Client = postgres.Sql
export type ClientOptions = postgres.Options<Record<never, never>>

/**
 * How long a write on the LISTEN connection waits for a row lock before it is handed to the pool.
 * A session receives notifications only between statements: a write that waits there holds back
 * every change event of this instance, other instances' included.
 */
export const LISTEN_LOCK_TIMEOUT_MS = 100

export interface ListenSetup {
  readonly channel: string
  readonly handlers: ListenHandlers
  readonly logger: Logger
  readonly listenCheckMs: number
  readonly connect: (suffix: string, extra?: ClientOptions) => Client
}

export interface ServerListener extends ListenHandle {
  /**
   * Runs `work` on the LISTEN connection if it is subscribed and runs no other write, else returns
   * `undefined`. One write at a time: a second one queued behind it would wait for the first's
   * commit, where a pool connection commits alongside.
   */
  runIfIdle<T>(work: (client: Client) => Promise<T>): Promise<T> | undefined
}

/**
 * One connection that LISTENs. When it closes, or a periodic check does not answer, a new one is
 * made (with backoff, for as long as the store is open) and the store is told to replay. It also
 * carries the store's writes while it is free (`runIfIdle`), so it is a writer session like the
 * pool's.
 */
export async function startListening(setup: ListenSetup): Promise<ServerListener> {
  const listener = new ListenConnection(setup)
  await listener.start()
  return listener
}

class ListenConnection implements ServerListener {
  readonly #setup: ListenSetup
  #client: Client | undefined
  /** The write running on the LISTEN connection, if any, settled or failed. */
  #writing: { readonly on: Client; readonly settled: Promise<void> } | undefined
  readonly #retiring = new Set<Client>()
  readonly #checkTimeoutMs: number
  /** Counts connections opened and lost: only the current one's events count. */
  #generation = 0
  #stopped = false
  #checkTimer: ReturnType<typeof setTimeout> | undefined
  #reconnecting: Promise<void> | undefined

  constructor(setup: ListenSetup) {
    this.#setup = setup
    this.#checkTimeoutMs = Math.min(10_000, setup.listenCheckMs)
  }

  /** Opens and subscribes the first connection; fails if that fails. */
  async start(): Promise<void> {
    const first = this.#open()
    try {
      await this.#subscribe(first)
    } catch (error) {
      this.#generation += 1
      await first.end({ timeout: 0 }).catch(() => {})
      throw error
    }
    this.#client = first
    this.#scheduleCheck()
  }

  runIfIdle<T>(work: (client: Client) => Promise<T>): Promise<T> | undefined {
    const on = this.#client
    if (on === undefined || this.#writing?.on === on) return undefined
    const pending = work(on)
    const current = {
      on,
      settled: pending.then(
        () => {},
        () => {}
      ),
    }
    this.#writing = current
    void current.settled.then(() => {
      if (this.#writing === current) this.#writing = undefined
    })
    return pending
  }

  async close(): Promise<void> {
    this.#stopped = true
    this.#generation += 1
    if (this.#checkTimer !== undefined) clearTimeout(this.#checkTimer)
    const last = this.#client
    this.#client = undefined
    // A write still running on a retired connection gets the same second as the others.
    const closing = [last, ...this.#retiring]
    this.#retiring.clear()
    await Promise.all(closing.map((target) => target?.end({ timeout: 1 }).catch(() => {})))
    await this.#reconnecting?.catch(() => {})
  }

  #open(): Client {
    const mine = ++this.#generation
    const { channel, handlers } = this.#setup
    // `onnotify` is missing from postgres.js's types, not from its options.
    const listenOptions: ClientOptions & {
      readonly onnotify: (channel: string, payload: string) => void
    } = {
      max: 1,
      idle_timeout: 0,
      max_lifetime: null,
      connection: { lock_timeout: LISTEN_LOCK_TIMEOUT_MS },
      onnotify: (notified, payload) => {
        if (mine === this.#generation && notified === channel) handlers.onPayload(payload)
      },
      onclose: () => {
        if (mine === this.#generation && !this.#stopped) this.#connectionLost('closed')
      },
    }
    return this.#setup.connect('listen', listenOptions)
  }

  async #subscribe(target: Client): Promise<void> {
    await target.unsafe(`LISTEN "${this.#setup.channel.replaceAll('"', '""')}"`)
  }

  #connectionLost(why: string): void {
    if (this.#reconnecting !== undefined || this.#stopped) return
    this.#setup.handlers.onLost()
    this.#setup.logger.log('warn', 'store listen connection lost; reconnecting', { why })
    const old = this.#client
    this.#client = undefined
    this.#generation += 1
    if (old !== undefined) this.#retire(old)
    this.#reconnecting = this.#reconnect().finally(() => {
      this.#reconnecting = undefined
    })
  }

  async #reconnect(): Promise<void> {
    for (let attempt = 0; !this.#stopped; attempt++) {
      const candidate = this.#open()
      try {
        await this.#subscribe(candidate)
        if (this.#stopped) {
          await candidate.end({ timeout: 0 })
          return
        }
        this.#client = candidate
        this.#setup.handlers.onResumed()
        this.#scheduleCheck()
        return
      } catch {
        this.#generation += 1
        await candidate.end({ timeout: 0 }).catch(() => {})
        await sleep(Math.min(5000, 100 * 2 ** attempt))
      }
    }
  }

  /**
   * Closes a connection that no longer listens. A write running on it gets as long again as the
   * check waited before it is cancelled (and fails as STORE_UNAVAILABLE): a slow server may still
   * answer it, while a connection that died without a word would hold it for the many minutes TCP
   * takes to give up.
   */
  #retire(old: Client): void {
    let deadline: ReturnType<typeof setTimeout> | undefined
    const finish = () => {
      if (deadline !== undefined) clearTimeout(deadline)
      if (this.#retiring.delete(old)) void old.end({ timeout: 0 }).catch(() => {})
    }
    this.#retiring.add(old)
    const running = this.#writing?.on === old ? this.#writing.settled : undefined
    if (running === undefined) {
      finish()
      return
    }
    deadline = setTimeout(finish, this.#checkTimeoutMs)
    deadline.unref()
    void running.then(finish)
  }

  #scheduleCheck(): void {
    if (this.#checkTimer !== undefined) clearTimeout(this.#checkTimer)
    this.#checkTimer = setTimeout(() => this.#check(), this.#setup.listenCheckMs)
    this.#checkTimer.unref()
  }

  /** A connection can die without a FIN (a cable, a NAT timeout): only asking tells. */
  async #check(): Promise<void> {
    const target = this.#client
    if (this.#stopped || target === undefined) return
    const answered = await Promise.race([
      target`select 1`.then(
        () => true,
        () => false
      ),
      sleep(this.#checkTimeoutMs).then(() => false),
    ])
    if (this.#stopped || target !== this.#client) return
    if (answered) this.#scheduleCheck()
    else this.#connectionLost('no answer to the periodic check')
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}
