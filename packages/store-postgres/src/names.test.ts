import { describe, expect, it } from 'vitest'
import {
  changeChannel,
  checkSchemaName,
  leaderLockKey,
  lockKey,
  migrationLockKey,
} from './names.ts'

describe('schema names', () => {
  it('allow plain lower-case identifiers whose channel fits in 63 bytes', () => {
    const longest = `m${'x'.repeat(47)}`
    expect(checkSchemaName(longest)).toBe(longest)
    expect(changeChannel(longest).length).toBeLessThanOrEqual(63)
    expect(() => checkSchemaName(`${longest}x`)).toThrow(/1 to 48/)
  })
})

describe('advisory lock keys', () => {
  it('are positive int4 values that differ per schema and purpose', () => {
    const keys = [
      migrationLockKey('meshca'),
      migrationLockKey('other'),
      leaderLockKey('meshca', 'rotation-daemon'),
      leaderLockKey('other', 'rotation-daemon'),
      leaderLockKey('meshca', 'insights'),
    ]
    for (const key of keys) {
      expect(Number.isInteger(key)).toBe(true)
      expect(key).toBeGreaterThanOrEqual(0)
      expect(key).toBeLessThan(2 ** 31)
    }
    expect(new Set(keys).size).toBe(keys.length)
    expect(lockKey('meshca')).toBe(lockKey('meshca'))
  })
})
