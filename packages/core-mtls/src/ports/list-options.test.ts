import { describe, expect, it } from 'vitest'
import { MeshcaError } from '../errors.ts'
import { checkListOptions, decodeListCursor, encodeListCursor } from './list-options.ts'
import type { ListOptions } from './store.ts'

function violationsOf(options: ListOptions, engine = {}): unknown {
  try {
    checkListOptions('Dataplane', options, engine)
  } catch (error) {
    if (error instanceof MeshcaError) return error.violations
    throw error
  }
  return []
}

describe('list options', () => {
  it('reads the defaults and a cursor as a page', () => {
    expect(checkListOptions('Mesh', {})).toEqual({ size: 100, after: undefined })
    const offset = encodeListCursor({ mesh: 'm', name: 'web' })
    expect(checkListOptions('Dataplane', { size: 5, offset })).toEqual({
      size: 5,
      after: { mesh: 'm', name: 'web' },
    })
  })

  it("refuses with Kuma's messages, every violation at once", () => {
    expect(violationsOf({ mesh: '', size: 1001, offset: '%%' })).toEqual([
      { field: 'mesh', message: 'cannot be empty' },
      { field: 'size', message: 'Invalid page size of 1001. Maximum page size is 1000' },
      { field: 'offset', message: 'Invalid format' },
    ])
    expect(violationsOf({ size: 0 })).toEqual([
      { field: 'size', message: 'Invalid page size of 0. Minimum page size is 1' },
    ])
  })

  it("runs the engine's checks after the common ones, and lets it refuse a cursor", () => {
    const offset = encodeListCursor({ mesh: 'm', name: 'x' })
    const engine = {
      check: (_type: unknown, _options: unknown, violations: { add(f: string, m: string): void }) =>
        violations.add('nameContains', 'engine says no'),
      acceptsCursor: () => false,
    }
    expect(violationsOf({ mesh: '', offset }, engine)).toEqual([
      { field: 'mesh', message: 'cannot be empty' },
      { field: 'nameContains', message: 'engine says no' },
      { field: 'offset', message: 'Invalid format' },
    ])
  })
})

describe('list cursors', () => {
  it('round-trip any mesh and name in URL-safe characters', () => {
    for (const key of [
      { mesh: '', name: 'default' },
      { mesh: 'm', name: 'héllo 🔐 "quoted" \\ / + = ?' },
    ]) {
      const cursor = encodeListCursor(key)
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/)
      expect(decodeListCursor(cursor)).toEqual(key)
    }
  })

  it('refuse what they did not make', () => {
    const made = encodeListCursor({ mesh: 'default', name: 'x' })
    const notUtf8 = btoa('\xff\xfe').replaceAll('=', '')
    for (const text of ['-1', '{}', made.slice(0, -1), `${made}A`, notUtf8, btoa('["a",1]')]) {
      expect(decodeListCursor(text), text).toBeUndefined()
    }
  })
})
