import { describe, expect, it } from 'vitest'
import { isMeshcaError, type MeshcaError } from '../errors.ts'
import { parseYamlDocuments } from './yaml-documents.ts'

function errorOf(text: string): MeshcaError {
  try {
    parseYamlDocuments(text)
  } catch (error) {
    expect(isMeshcaError(error, 'INVALID')).toBe(true)
    return error as MeshcaError
  }
  throw new Error('expected parseYamlDocuments to throw')
}

describe('parseYamlDocuments', () => {
  it('splits documents and skips empty ones', () => {
    const text =
      '---\n# only a comment\n---\ntype: Mesh\nname: a\n---\n---\ntype: Mesh\nname: b\n...\n'
    expect(parseYamlDocuments(text)).toEqual([
      { type: 'Mesh', name: 'a' },
      { type: 'Mesh', name: 'b' },
    ])
  })

  it('returns nothing for empty input', () => {
    expect(parseYamlDocuments('')).toEqual([])
    expect(parseYamlDocuments('  \n# nothing\n')).toEqual([])
  })

  it('reads JSON', () => {
    expect(parseYamlDocuments('{"type": "Mesh", "name": "m"}')).toEqual([
      { type: 'Mesh', name: 'm' },
    ])
  })

  it('keeps Kuma durations and numbers as YAML 1.2 reads them', () => {
    expect(parseYamlDocuments('expiration: 1d\nRSAbits: 2048\nmode: 1\nname: "007"')).toEqual([
      { expiration: '1d', RSAbits: 2048, mode: 1, name: '007' },
    ])
  })

  it('reports a syntax error with its line and column', () => {
    const error = errorOf('type: Mesh\nname: a\n---\ntype: Mesh\n  name: [b\n')
    expect(error.violations.length).toBeGreaterThan(0)
    expect(error.violations[0]?.field).toBe('')
    expect(error.violations[0]?.message).toMatch(/^YAML error at line 4, column 7: /)
    expect(error.message).toContain('YAML error at line 4')
  })

  it('reports duplicate keys', () => {
    const error = errorOf('name: a\nname: b\n')
    expect(error.violations[0]?.message).toMatch(/^YAML error at line 2, column 1: .*unique/)
  })

  it('never quotes the source, which may hold key material', () => {
    const error = errorOf('key: "-----BEGIN PRIVATE KEY-----\nsecretstuff')
    expect(error.message).not.toContain('secretstuff')
  })

  it('turns alias bombs into a typed error', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]']
    for (let i = 1; i < 12; i++) {
      const prev = String.fromCharCode(96 + i)
      const next = String.fromCharCode(97 + i)
      lines.push(`${next}: &${next} [${Array(10).fill(`*${prev}`).join(', ')}]`)
    }
    const error = errorOf(lines.join('\n'))
    expect(error.message).toMatch(/^invalid YAML document starting at line 1: /)
  })
})
