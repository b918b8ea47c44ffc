import { describe, expect, it } from 'vitest'
import { type ResourceKey, resourceKeyId } from './types.ts'

describe('resourceKeyId', () => {
  it('tells apart keys whose fields would join into the same text', () => {
    const keys: ResourceKey[] = [
      { type: 'Secret', mesh: 'a:1', name: 'b' },
      { type: 'Secret', mesh: 'a', name: '1:b' },
      { type: 'Secret', mesh: 'a:1:b', name: '' },
      { type: 'Secret', mesh: '', name: 'a:1:b' },
      { type: 'Secret', mesh: '1', name: '1:1' },
      { type: 'Secret', mesh: '1:1', name: '1' },
      { type: 'Dataplane', mesh: 'a:1', name: 'b' },
      { type: 'Mesh', mesh: '', name: 'a' },
    ]
    const ids = keys.map(resourceKeyId)
    expect(new Set(ids).size).toBe(keys.length)
  })

  it('is the same for equal keys, whatever else the object carries', () => {
    const key = { type: 'Mesh', mesh: '', name: 'default' } as const
    expect(resourceKeyId({ ...key, version: '7' } as ResourceKey)).toBe(resourceKeyId(key))
  })
})
