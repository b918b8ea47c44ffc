import { describe, expect, it } from 'vitest'
import { decodeCursor, encodeCursor, storable } from './cursor.ts'

describe('list cursors', () => {
  it('round-trip any storable mesh and name, in URL-safe characters', () => {
    const keys = [
      { mesh: 'default', name: 'web-1' },
      { mesh: '', name: 'default' },
      { mesh: 'm', name: 'héllo 🔐 "quoted" \\ / + = ?' },
      { mesh: 'a'.repeat(253), name: 'b'.repeat(253) },
    ]
    for (const key of keys) {
      const cursor = encodeCursor(key)
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/)
      expect(decodeCursor(cursor)).toEqual(key)
    }
  })

  it('refuse what they did not make', () => {
    const made = encodeCursor({ mesh: 'default', name: 'x' })
    const bad = [
      'not an offset',
      '%%%',
      '-1',
      '1.5',
      '{}',
      '["default"]',
      '\u0000',
      made.slice(0, -1),
      `${made}A`,
      encodeCursorOf('["a", 1]'),
      encodeCursorOf('["a", "b", "c"]'),
      encodeCursorOf('{"mesh": "a", "name": "b"}'),
      encodeCursorOf('["a\\u0000", "b"]'),
      encodeCursorOf('["\\ud800", "b"]'),
    ]
    for (const text of bad) expect(decodeCursor(text), text).toBeUndefined()
  })
})

describe('storable text', () => {
  it('excludes NUL and unpaired surrogates, and nothing else', () => {
    expect(storable('plain')).toBe(true)
    expect(storable('🔐 pairs are fine')).toBe(true)
    expect(storable('nul\u0000')).toBe(false)
    expect(storable('high\uD800')).toBe(false)
    expect(storable('\uDC00low')).toBe(false)
  })
})

function encodeCursorOf(json: string): string {
  const bytes = new TextEncoder().encode(json)
  return btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '')
}
