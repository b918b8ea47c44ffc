/**
 * The watch side of a store: the LISTEN connection whose notifications feed the watchers (and keep
 * the read cache current), the replay after it was lost, and the pruning of old change events.
 */
import { clearInterval, setInterval } from 'node:timers'
import type {
  Logger,
  StoreEvent,
  StoreEventAction,
  Unsubscribe,
  WatchOptions,
} from '@meshca/core-mtls'
import { sql } from 'drizzle-orm'
import type { ReplaySource } from './change-feed.ts'
import { ChangeFeed } from './change-feed.ts'
import { currentSeq, sqlReplaySource } from './change-replay.ts'
import type { ListenHandle, ListenHandlers, StoreDriver } from './driver.ts'
import { changeChannel } from './names.ts'
import type { ReadCache } from './read-cache.ts'
import type { StoreTables } from './schema.ts'
import { toStoreError } from './sql-errors.ts'

export interface StoreChangesSettings {
  readonly schema: string
  readonly logger: Logger
  readonly eventRetentionMs: number
  readonly pruneIntervalMs: number
  /** Settles when the schema is ready: the change sequence is read only after. */
  readonly migrated?: Promise<unknown>
}

export class StoreChanges {
  readonly #feed: ChangeFeed
  #listening: ListenHandle | undefined
  readonly #pruneTimer: ReturnType<typeof setInterval>
  #stopped = false

  /**
   * Listens on the store's channel, then starts the feed at the current change sequence once the
   * schema is ready: the LISTEN connection needs no table, so it opens while the migrations run.
   */
  static async open(
    driver: StoreDriver,
    tables: StoreTables,
    settings: StoreChangesSettings,
    reads: ReadCache
  ): Promise<StoreChanges> {
    const feed = new ChangeFeed(settings.logger)
    const replay = sqlReplaySource(driver, settings.schema, tables)
    const handlers = listenHandlers(feed, reads, replay, settings)
    const listening = await driver.listen(changeChannel(settings.schema), handlers)
    try {
      await settings.migrated
      feed.start(await currentSeq(driver, settings.schema))
    } catch (error) {
      await listening.close().catch(() => {})
      throw toStoreError(error, 'open the store')
    }
    return new StoreChanges(driver, tables, settings, feed, listening)
  }

  private constructor(
    driver: StoreDriver,
    tables: StoreTables,
    settings: StoreChangesSettings,
    feed: ChangeFeed,
    listening: ListenHandle
  ) {
    this.#feed = feed
    this.#listening = listening
    this.#pruneTimer = setInterval(
      () => this.#prune(driver, tables.events, settings),
      settings.pruneIntervalMs
    )
    this.#pruneTimer.unref()
  }

  subscribe(listener: (event: StoreEvent) => void, options?: WatchOptions): Unsubscribe {
    return this.#feed.subscribe(listener, options)
  }

  ownWriteCompleted(action: StoreEventAction, version: string): void {
    this.#feed.ownWriteCompleted(action, version)
  }

  /** Drops the watchers and stops pruning; the listen connection stays until `close`. */
  stop(): void {
    this.#stopped = true
    this.#feed.clear()
    clearInterval(this.#pruneTimer)
  }

  async close(): Promise<void> {
    await this.#listening?.close().catch(() => {})
    this.#listening = undefined
  }

  #prune(driver: StoreDriver, e: StoreTables['events'], settings: StoreChangesSettings): void {
    if (this.#stopped) return
    const retentionSeconds = settings.eventRetentionMs / 1000
    driver.db
      .delete(e)
      .where(sql`${e.at} < now() - make_interval(secs => ${retentionSeconds})`)
      .then(
        () => {},
        (error: unknown) =>
          settings.logger.log('warn', 'could not prune old store change events', {
            error: toStoreError(error, 'prune').message,
          })
      )
  }
}

function listenHandlers(
  feed: ChangeFeed,
  reads: ReadCache,
  replay: ReplaySource,
  { logger, eventRetentionMs }: StoreChangesSettings
): ListenHandlers {
  return {
    onPayload: (payload) => {
      reads.changed(payload)
      feed.receive(payload)
    },
    onLost: () => {
      // Changes made elsewhere go unannounced until LISTEN is back: no cached answers meanwhile.
      reads.pause()
      feed.lost()
    },
    onResumed: () => {
      reads.resume()
      feed.resume(replay, eventRetentionMs).catch((error: unknown) => {
        logger.log('error', 'store change events could not be replayed after a reconnect', {
          error: toStoreError(error, 'replay').message,
        })
      })
    },
  }
}
