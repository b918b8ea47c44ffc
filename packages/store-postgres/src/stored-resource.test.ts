import { isMeshcaError } from '@meshca/core-mtls'
import { describe, expect, it } from 'vitest'
import type { GetRow } from './resource-rows.ts'
import { parseSpec, readerResource, toResource } from './stored-resource.ts'

const key = { type: 'Dataplane', mesh: 'default', name: 'web' } as const

function codeOf(run: () => unknown): string | undefined {
  try {
    run()
  } catch (error) {
    return isMeshcaError(error) ? error.code : 'not a MeshcaError'
  }
  return undefined
}

describe('stored resources', () => {
  it('take only a JSON object as a spec', () => {
    expect(parseSpec(key, '{"a":1}')).toEqual({ a: 1 })
    for (const text of ['[]', 'null', '1', '{', undefined, 7]) {
      expect(
        codeOf(() => parseSpec(key, text)),
        String(text)
      ).toBe('CORRUPTED')
    }
  })

  it('refuse a row whose times are not numbers', () => {
    const row = { version: '1', creationMs: Number.NaN, modificationMs: 1 }
    expect(codeOf(() => toResource(key, row, {}))).toBe('CORRUPTED')
  })

  it("give a row's first reader a spec of its own and later readers one frozen spec", () => {
    const row: GetRow = {
      version: '3',
      creationMs: 1000,
      modificationMs: 2000,
      spec: '{"a":{"b":1}}',
      handedOut: false,
      parsedSpec: undefined,
    }
    const first = readerResource(key, row)
    expect(Object.isFrozen(first.spec)).toBe(false)
    expect(first.modificationTime).toEqual(new Date(2000))
    const second = readerResource(key, row)
    const third = readerResource(key, row)
    expect(Object.isFrozen(second.spec)).toBe(true)
    expect(third.spec).toBe(second.spec)
    expect(third).not.toBe(second)
    expect(third.spec).toEqual(first.spec)
  })
})
