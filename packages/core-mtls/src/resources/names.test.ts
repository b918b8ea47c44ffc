import { describe, expect, it } from 'vitest'
import { meshNameProblem, nameProblem, validateResourceMeta } from './names.ts'

const BAD_CHARACTERS =
  "invalid characters. Valid characters are numbers, lowercase latin letters and '-', '_' symbols."

describe('nameProblem', () => {
  it.each(['default', 'ca-1', 'my_mesh', '0', 'a-b_c-9', 'x'.repeat(253)])('accepts %j', (name) => {
    expect(nameProblem(name)).toBeUndefined()
  })

  it('rejects an empty name', () => {
    expect(nameProblem('')).toBe('cannot be empty')
  })

  it.each(['Default', 'default.ca-builtin-cert-ca-1', 'a b', 'a/b', 'ünï', 'a:b', '*'])(
    'rejects %j for its characters',
    (name) => {
      expect(nameProblem(name)).toBe(BAD_CHARACTERS)
    }
  )

  it('limits names to 253 characters', () => {
    expect(nameProblem('x'.repeat(254))).toBe('cannot be longer than 253 characters')
  })

  it('reports the length before the characters, one problem only', () => {
    expect(nameProblem('X'.repeat(300))).toBe('cannot be longer than 253 characters')
  })
})

describe('meshNameProblem', () => {
  it('accepts 63 characters and rejects 64', () => {
    expect(meshNameProblem('m'.repeat(63))).toBeUndefined()
    expect(meshNameProblem('m'.repeat(64))).toBe('cannot be longer than 63 characters')
  })
})

describe('validateResourceMeta', () => {
  it('checks name and mesh of mesh-scoped types', () => {
    expect(validateResourceMeta('Secret', '', 'Bad.Mesh')).toEqual([
      { field: 'name', message: 'cannot be empty' },
      { field: 'mesh', message: BAD_CHARACTERS },
    ])
  })

  it('requires a mesh for mesh-scoped types', () => {
    expect(validateResourceMeta('TrafficPermission', 'tp', '')).toEqual([
      { field: 'mesh', message: 'cannot be empty' },
    ])
  })

  it('ignores mesh for global types', () => {
    expect(validateResourceMeta('Mesh', 'default', '')).toEqual([])
  })

  it('limits Mesh names to 63 characters but other names to 253', () => {
    expect(validateResourceMeta('Mesh', 'm'.repeat(64), '')).toEqual([
      { field: 'name', message: 'cannot be longer than 63 characters' },
    ])
    expect(validateResourceMeta('Dataplane', 'd'.repeat(64), 'default')).toEqual([])
    expect(validateResourceMeta('Dataplane', 'd', 'm'.repeat(64))).toEqual([
      { field: 'mesh', message: 'cannot be longer than 63 characters' },
    ])
  })
})
