/**
 * Change events across a dropped listen connection: what was committed while it was down is
 * delivered once it is back, in order, without a restart, and the log says how much was missed.
 */
import type { ResourceKey, StoreEvent } from '@meshca/core-mtls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPostgresStore } from '../src/index.ts'
import { recordingLogger, sleep, waitFor } from './support/recording-logger.ts'
import { startTcpProxy } from './support/tcp-proxy.ts'
import type { TestPostgres } from './support/test-postgres.ts'
import { connectTestPostgres } from './support/test-postgres.ts'

let server: TestPostgres

beforeAll(async () => {
  server = await connectTestPostgres()
})

afterAll(async () => {
  await server?.dispose()
})

function secret(name: string): ResourceKey {
  return { type: 'Secret', mesh: 'default', name }
}

describe('watch after a dropped connection', () => {
  it('replays what was written while the listen connection was down, in order, and logs it', async () => {
    const proxy = await startTcpProxy(server.url)
    const schema = server.newSchema()
    const logger = recordingLogger()
    const watcher = await createPostgresStore({
      url: proxy.url,
      schema,
      poolSize: 2,
      connectTimeoutSeconds: 2,
      logger,
    })
    const writer = await createPostgresStore({ url: server.url, schema, poolSize: 2 })
    try {
      const events: StoreEvent[] = []
      watcher.watch((event) => events.push(event), { types: ['Secret'] })
      const kept = await writer.create(secret('kept'), {})
      const doomed = await writer.create(secret('doomed'), {})
      await waitFor(() => events.length === 2, 'the events before the cut')

      await proxy.cut()
      const once = await writer.update(secret('kept'), { n: 1 }, kept.version)
      await writer.create(secret('during-1'), {})
      await writer.update(secret('kept'), { n: 2 }, once.version)
      await writer.create({ type: 'Mesh', mesh: '', name: 'not-watched' }, {})
      await writer.delete(secret('doomed'), doomed.version)
      await writer.create(secret('during-2'), {})
      await sleep(200)
      expect(events).toHaveLength(2)

      await proxy.restore()
      await waitFor(() => events.length === 6, 'the replayed events')
      await writer.create(secret('after'), {})
      await waitFor(() => events.length === 7, 'a live event after the replay')
      // State, not history: the two updates of `kept` arrive as one, at the place of the last.
      expect(events).toEqual([
        { action: 'create', key: secret('kept') },
        { action: 'create', key: secret('doomed') },
        { action: 'create', key: secret('during-1') },
        { action: 'update', key: secret('kept') },
        { action: 'delete', key: secret('doomed') },
        { action: 'create', key: secret('during-2') },
        { action: 'create', key: secret('after') },
      ])
      const resumed = logger.entries.find((entry) => entry.message.includes('resumed'))
      // Five resources changed while it was away (the Mesh included; it is not watched).
      expect(resumed?.fields.missed).toBe(5)
      expect(logger.entries.some((entry) => entry.message.includes('listen connection lost'))).toBe(
        true
      )
    } finally {
      await watcher.close()
      await writer.close()
      await proxy.close()
    }
  })

  it('resumes after pg_terminate_backend of the listen connection, without duplicates', async () => {
    const schema = server.newSchema()
    const applicationName = `meshca-resume-${schema}`.slice(0, 40)
    const logger = recordingLogger()
    const watcher = await createPostgresStore({
      url: server.url,
      schema,
      poolSize: 2,
      applicationName,
      logger,
    })
    const writer = await createPostgresStore({ url: server.url, schema, poolSize: 2 })
    try {
      const events: StoreEvent[] = []
      watcher.watch((event) => events.push(event))
      for (let round = 0; round < 3; round++) {
        await writer.create(secret(`a-${round}`), {})
        const killed = await server.admin<{ pid: number }[]>`
          select pg_terminate_backend(pid) as killed, pid from pg_stat_activity
          where application_name = ${`${applicationName}-listen`}`
        expect(killed).toHaveLength(1)
        await writer.create(secret(`b-${round}`), {})
        await waitFor(() => events.length === 2 * (round + 1), `the events of round ${round}`)
      }
      await sleep(100)
      expect(events.map((event) => event.key.name)).toEqual([
        'a-0',
        'b-0',
        'a-1',
        'b-1',
        'a-2',
        'b-2',
      ])
      await waitFor(
        () => logger.entries.filter((entry) => entry.message.includes('resumed')).length === 3,
        'three resume log lines'
      )
    } finally {
      await watcher.close()
      await writer.close()
    }
  })

  it('replays changed resources, not deletions, after a gap longer than the tombstone retention', async () => {
    const proxy = await startTcpProxy(server.url)
    const schema = server.newSchema()
    const logger = recordingLogger()
    // Two seconds: the count just after the delete must still see the tombstone on a loaded machine.
    const retention = { eventRetentionMs: 2_000, pruneIntervalMs: 100 }
    const watcher = await createPostgresStore({
      url: proxy.url,
      schema,
      poolSize: 2,
      connectTimeoutSeconds: 2,
      logger,
      ...retention,
    })
    const writer = await createPostgresStore({ url: server.url, schema, poolSize: 2, ...retention })
    try {
      const events: StoreEvent[] = []
      watcher.watch((event) => events.push(event))
      await writer.create(secret('doomed'), {})
      await waitFor(() => events.length === 1, 'the event before the cut')
      await proxy.cut()
      await writer.delete(secret('doomed'))
      await writer.create(secret('created-in-the-gap'), {})
      const tombstones = async () =>
        (
          await server.admin.unsafe<{ count: number }[]>(
            `select count(*)::int as count from "${schema}".events`
          )
        )[0]?.count
      expect(await tombstones()).toBe(1)
      // Pruned once older than the retention: 2.1 s at most, unless the machine is busy.
      await waitFor(async () => (await tombstones()) === 0, 'the tombstone to be pruned', 20_000)
      await proxy.restore()
      await waitFor(() => events.length === 2, 'the replayed resource')
      expect(events).toEqual([
        { action: 'create', key: secret('doomed') },
        { action: 'create', key: secret('created-in-the-gap') },
      ])
      await waitFor(
        () =>
          logger.entries.some((entry) => entry.message.includes('longer than the event retention')),
        'the loss log line'
      )
      const lost = logger.entries.find((entry) =>
        entry.message.includes('longer than the event retention')
      )
      expect(lost?.fields.missed).toBe(1)
    } finally {
      await watcher.close()
      await writer.close()
      await proxy.close()
    }
  })
})
