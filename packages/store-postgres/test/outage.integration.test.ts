/**
 * A database that goes away mid-run: operations fail with STORE_UNAVAILABLE (and fail fast), no row
 * is half-written, and the same store works again once the database is back, without a restart.
 */
import type { ResourceKey, StoreEvent } from '@meshca/core-mtls'
import { isMeshcaError } from '@meshca/core-mtls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPostgresStore } from '../src/index.ts'
import { recordingLogger, sleep, waitFor } from './support/recording-logger.ts'
import { startTcpProxy } from './support/tcp-proxy.ts'
import type { TestPostgres } from './support/test-postgres.ts'
import { connectTestPostgres } from './support/test-postgres.ts'
import { findServerBinaries, startThrowawayPostgres } from './support/throwaway-postgres.ts'

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

async function outcome(action: Promise<unknown>): Promise<unknown> {
  try {
    await action
    return 'succeeded'
  } catch (error) {
    return error
  }
}

/** Retries `action` until it succeeds; the database is coming back. */
async function eventually<T>(action: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await action()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await sleep(100)
    }
  }
}

describe('a database that goes away mid-run', () => {
  it('fails every call with STORE_UNAVAILABLE, leaves no half-written row, and recovers', async () => {
    const proxy = await startTcpProxy(server.url)
    const schema = server.newSchema()
    const store = await createPostgresStore({
      url: proxy.url,
      schema,
      poolSize: 4,
      connectTimeoutSeconds: 2,
    })
    // On the database directly: it hears every committed write, and only those.
    const observer = await createPostgresStore({ url: server.url, schema, poolSize: 1 })
    const heard = new Map<string, StoreEvent['action'][]>()
    observer.watch((event) => {
      heard.set(event.key.name, [...(heard.get(event.key.name) ?? []), event.action])
    })
    try {
      const acknowledged = new Map<string, { version: string; step: number }>()
      const failures: unknown[] = []
      let running = true
      const writers = Array.from({ length: 4 }, async (_, writer) => {
        for (let i = 0; running; i++) {
          const name = `w${writer}-${i}`
          try {
            const created = await store.create(secret(name), { writer, i, step: 0 })
            acknowledged.set(name, { version: created.version, step: 0 })
            const updated = await store.update(
              secret(name),
              { writer, i, step: 1 },
              created.version
            )
            acknowledged.set(name, { version: updated.version, step: 1 })
          } catch (error) {
            failures.push(error)
            await sleep(20)
          }
        }
      })
      await waitFor(() => acknowledged.size >= 20, 'writes before the outage')
      await proxy.cut()
      const ackedBeforeOutage = acknowledged.size

      const started = performance.now()
      const during = await Promise.all([
        outcome(store.get(secret('w0-0'))),
        outcome(store.list('Secret')),
        outcome(store.create(secret('during-outage'), {})),
        outcome(store.update(secret('w0-0'), {}, '1')),
        outcome(store.delete(secret('w0-0'))),
      ])
      const failedWithin = performance.now() - started
      for (const result of during) {
        expect(isMeshcaError(result, 'STORE_UNAVAILABLE'), String(result)).toBe(true)
        // The message names the condition, never the server.
        expect((result as Error).message).not.toContain('127.0.0.1')
      }
      // Refused connections fail in milliseconds; the bound only catches calls that wait for the
      // database to come back (it comes back below, after them).
      expect(failedWithin).toBeLessThan(5_000)

      await sleep(300)
      await proxy.restore()
      await eventually(() => store.get(secret('w0-0')))
      const ackedAtRestore = acknowledged.size
      await waitFor(() => acknowledged.size >= ackedAtRestore + 20, 'writes after the outage')
      running = false
      await Promise.all(writers)

      expect(ackedBeforeOutage).toBeGreaterThan(0)
      expect(failures.length).toBeGreaterThan(0)
      for (const failure of failures) {
        expect(isMeshcaError(failure, 'STORE_UNAVAILABLE'), String(failure)).toBe(true)
      }

      // Every row is one whole write: a spec the writer sent for that very key, announced by the
      // notification its own transaction sent (a create, and an update where it got that far).
      const rows = await server.admin.unsafe<{ name: string; version: string; spec: string }[]>(
        `select name, version::text as version, spec from "${schema}".resources`
      )
      const announced = (row: { name: string; spec: string }) =>
        (JSON.parse(row.spec) as { step: number }).step === 1 ? ['create', 'update'] : ['create']
      await waitFor(
        () => rows.every((row) => heard.get(row.name)?.length === announced(row).length),
        'the notifications of every row'
      )
      expect(rows.length).toBeGreaterThanOrEqual(acknowledged.size)
      for (const row of rows) {
        const spec = JSON.parse(row.spec) as { writer: number; i: number; step: number }
        expect(`w${spec.writer}-${spec.i}`).toBe(row.name)
        expect([0, 1]).toContain(spec.step)
        expect(heard.get(row.name), row.name).toEqual(announced(row))
      }
      // Every acknowledged write is there, or a later one of the same key.
      const stored = new Map(rows.map((row) => [row.name, row]))
      for (const [name, acked] of acknowledged) {
        const row = stored.get(name)
        expect(row, name).toBeDefined()
        expect(BigInt(row?.version ?? '0')).toBeGreaterThanOrEqual(BigInt(acked.version))
      }
    } finally {
      await store.close()
      await observer.close()
      await proxy.close()
    }
  })

  const binaries = findServerBinaries()
  it.skipIf(binaries === undefined)(
    'survives a restart of the server (needs initdb and pg_ctl): unavailable while it is down, then working and delivering events again',
    async () => {
      const throwaway = await startThrowawayPostgres()
      const logger = recordingLogger()
      const store = await createPostgresStore({
        url: throwaway.url,
        schema: 'restarted',
        connectTimeoutSeconds: 2,
        logger,
      })
      try {
        const events: StoreEvent[] = []
        store.watch((event) => events.push(event))
        await store.create(secret('before'), {})
        await waitFor(() => events.length === 1, 'the first event')

        await throwaway.stop()
        const failure = await outcome(store.get(secret('before')))
        expect(isMeshcaError(failure, 'STORE_UNAVAILABLE'), String(failure)).toBe(true)
        const writeFailure = await outcome(store.create(secret('while-down'), {}))
        expect(isMeshcaError(writeFailure, 'STORE_UNAVAILABLE'), String(writeFailure)).toBe(true)

        await throwaway.start()
        expect((await eventually(() => store.get(secret('before'))))?.name).toBe('before')
        expect(await store.get(secret('while-down'))).toBeUndefined()
        await eventually(() => store.create(secret('after'), {}))
        await waitFor(
          () => events.some((e) => e.key.name === 'after'),
          'an event after the restart'
        )
        expect(events.map((e) => e.key.name)).toEqual(['before', 'after'])
        await waitFor(
          () => logger.entries.some((entry) => entry.message.includes('resumed')),
          'the resume log line'
        )
      } finally {
        await store.close()
        await throwaway.destroy()
      }
    }
  )
})
