import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { toStoreError } from './sql-errors.ts'

function driverError(fields: Record<string, unknown>, message = 'secret detail hunter2'): Error {
  return Object.assign(new Error(message), fields)
}

describe('driver errors', () => {
  it('become MeshcaErrors by condition, never carrying the driver message or parameters', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ code: 'ECONNREFUSED' }, 'STORE_UNAVAILABLE'],
      [{ code: 'CONNECTION_CLOSED' }, 'STORE_UNAVAILABLE'],
      [{ code: '57P01', severity: 'FATAL' }, 'STORE_UNAVAILABLE'],
      [{ code: '08006' }, 'STORE_UNAVAILABLE'],
      [{ code: '53300' }, 'STORE_UNAVAILABLE'],
      [{ code: '23505', constraint_name: 'resources_pkey' }, 'ALREADY_EXISTS'],
      [{ code: '22021' }, 'INVALID'],
      [{ code: '42P01', table_name: 'resources' }, 'INTERNAL'],
      [{ code: 'XX000' }, 'INTERNAL'],
      [{}, 'INTERNAL'],
    ]
    for (const [fields, code] of cases) {
      const original = driverError({ ...fields, parameters: ['hunter2'], query: 'insert into' })
      // As drizzle wraps it: the query and its parameters in the message.
      const wrapped = Object.assign(new Error('Failed query: insert into\nparams: hunter2'), {
        cause: original,
      })
      const error = toStoreError(wrapped, 'create')
      expect(error.code, JSON.stringify(fields)).toBe(code)
      const shown = inspect(error, { depth: 8 })
      expect(shown).not.toContain('hunter2')
      expect(shown).not.toContain('insert into')
    }
  })

  it('name the condition and keep identifying fields in the cause', () => {
    const error = toStoreError(
      driverError({ code: '57P01', severity: 'FATAL', routine: 'ProcessInterrupts' }),
      'get'
    )
    expect(error.message).toBe(
      'get: the PostgreSQL store is unavailable (the server terminated the connection, code 57P01)'
    )
    expect(error.cause).toMatchObject({
      code: '57P01',
      severity: 'FATAL',
      routine: 'ProcessInterrupts',
    })
  })

  it('recognise a closed PGlite', () => {
    expect(toStoreError(new Error('PGlite is closed'), 'list').code).toBe('STORE_UNAVAILABLE')
  })
})
