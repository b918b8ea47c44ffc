/**
 * The PostgreSQL server a test file talks to: `PG_CONNECTION_STRING` when set (and then it must
 * answer), else the machine's server at 127.0.0.1:5432, else a throwaway server started here. Never
 * a silent skip. `MESHCA_PG_THROWAWAY=1` forces the throwaway server. Each test file works in
 * schemas of its own, with a random prefix, dropped at the end.
 */
import postgres from 'postgres'
import type { ThrowawayServer } from './throwaway-postgres.ts'
import { startThrowawayPostgres } from './throwaway-postgres.ts'

export const DEFAULT_TEST_URL = 'postgres://postgres@127.0.0.1:5432/postgres'

export interface TestPostgres {
  readonly url: string
  /** Where the server came from, for the test log. */
  readonly origin: 'PG_CONNECTION_STRING' | 'local server' | 'throwaway server'
  /** A client for the tests' own SQL (reading raw rows, killing sessions). */
  readonly admin: postgres.Sql
  /** A fresh schema name, dropped by `dispose`. */
  newSchema(): string
  dispose(): Promise<void>
}

async function answers(url: string, attempts: number): Promise<boolean> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const probe = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} })
    try {
      await probe`select 1`
      return true
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 250 * (attempt + 1)))
    } finally {
      await probe.end({ timeout: 1 }).catch(() => {})
    }
  }
  return false
}

let sequence = 0

export async function connectTestPostgres(): Promise<TestPostgres> {
  const configured = process.env.PG_CONNECTION_STRING
  let url: string
  let origin: TestPostgres['origin']
  let throwaway: ThrowawayServer | undefined
  if (process.env.MESHCA_PG_THROWAWAY === '1') {
    throwaway = await startThrowawayPostgres()
    url = throwaway.url
    origin = 'throwaway server'
  } else if (configured !== undefined && configured !== '') {
    if (!(await answers(configured, 5))) {
      throw new Error('PG_CONNECTION_STRING is set but no PostgreSQL server answers there')
    }
    url = configured
    origin = 'PG_CONNECTION_STRING'
  } else if (await answers(DEFAULT_TEST_URL, 3)) {
    url = DEFAULT_TEST_URL
    origin = 'local server'
  } else {
    throwaway = await startThrowawayPostgres()
    url = throwaway.url
    origin = 'throwaway server'
  }
  const admin = postgres(url, { max: 2, onnotice: () => {} })
  const prefix = `meshca_t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`
  const schemas: string[] = []
  return {
    url,
    origin,
    admin,
    newSchema() {
      sequence += 1
      const schema = `${prefix}_${sequence}`
      schemas.push(schema)
      return schema
    },
    async dispose() {
      for (const schema of schemas) {
        await admin.unsafe(`drop schema if exists "${schema}" cascade`).catch(() => {})
      }
      await admin.end({ timeout: 5 })
      await throwaway?.destroy()
    },
  }
}
