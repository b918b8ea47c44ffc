import { isMeshcaError } from '@meshca/core-mtls'
import { describe, expect, it } from 'vitest'
import { canonicalVersion, checkKey, serializeSpec } from './input-checks.ts'

describe('versions', () => {
  it('are positive bigints without leading zeros; anything else matches no row', () => {
    expect(canonicalVersion('1')).toBe('1')
    expect(canonicalVersion('9223372036854775807')).toBe('9223372036854775807')
    for (const version of ['', '0', '01', '-1', '1.0', ' 1', '1e3', '9223372036854775808', 'abc']) {
      expect(canonicalVersion(version), version).toBeUndefined()
    }
  })
})

describe('keys', () => {
  it("use the memory store's messages and the column limits", () => {
    const violations = (key: Parameters<typeof checkKey>[0]) => {
      try {
        checkKey(key)
        return []
      } catch (error) {
        if (!isMeshcaError(error, 'INVALID')) throw error
        return error.violations
      }
    }
    expect(violations({ type: 'Secret', mesh: '', name: '' })).toEqual([
      { field: 'mesh', message: 'cannot be empty' },
      { field: 'name', message: 'cannot be empty' },
    ])
    expect(violations({ type: 'Mesh', mesh: 'x', name: 'ok' })).toEqual([
      { field: 'mesh', message: 'must be empty for a global resource' },
    ])
    expect(violations({ type: 'Secret', mesh: 'm', name: 'n'.repeat(254) })).toEqual([
      { field: 'name', message: 'cannot be longer than 253 characters' },
    ])
    // 253 code points in 506 UTF-16 units is within the limit.
    expect(violations({ type: 'Secret', mesh: 'm', name: '🔐'.repeat(253) })).toEqual([])
  })
})

describe('specs', () => {
  it('serialize to JSON text within the byte limit', () => {
    expect(serializeSpec({ a: [1, 'two'] }, 100)).toBe('{"a":[1,"two"]}')
    expect(() => serializeSpec({ a: 'é'.repeat(50) }, 100)).toThrow(/is too large: 108 bytes/)
    expect(() => serializeSpec([] as never, 100)).toThrow(/must be a JSON object/)
  })
})
