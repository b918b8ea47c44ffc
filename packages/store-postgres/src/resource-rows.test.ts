import { describe, expect, it } from 'vitest'
import { getColumns, listColumns, valueColumns } from './resource-rows.ts'

describe('resource rows', () => {
  it('reads a get row as text and numbers, not yet handed out', () => {
    expect(getColumns([42n, '1700000000000', 1700000000001, '{"a":1}'])).toEqual({
      version: '42',
      creationMs: 1700000000000,
      modificationMs: 1700000000001,
      spec: '{"a":1}',
      handedOut: false,
      parsedSpec: undefined,
    })
    expect(valueColumns(['x', '7', '8', '9'], 1)).toEqual({
      version: '7',
      creationMs: 8,
      modificationMs: 9,
    })
  })

  it('reads a list row of an empty page as its total alone', () => {
    expect(listColumns([3, null, null, null, null, null, null])).toEqual({
      total: 3,
      item: undefined,
    })
    expect(listColumns(['2', '5', '10', '11', '{}', 'default', 'web'])).toEqual({
      total: 2,
      item: {
        mesh: 'default',
        name: 'web',
        version: '5',
        creationMs: 10,
        modificationMs: 11,
        spec: '{}',
      },
    })
  })
})
