/**
 * Multi-document YAML (`kumactl apply -f`, `kubectl apply -f`) into plain values. JSON is YAML, so
 * request bodies go through here too. Every failure is a typed `INVALID` with line and column.
 */
import { LineCounter, parseAllDocuments } from 'yaml'
import type { Violation } from '../errors.ts'
import { toMeshcaError, validationError } from '../errors.ts'
import { checkYamlBounds, type DocumentBounds, FILE_BOUNDS } from './document-bounds.ts'

const MAX_REPORTED_ERRORS = 10

/** Bounds alias expansion ("billion laughs"); Kubernetes manifests never need more. */
const MAX_ALIAS_COUNT = 100

/** The documents of `text`, which is first checked against `bounds` (nesting, size, count). */
export function parseYamlDocuments(text: string, bounds: DocumentBounds = FILE_BOUNDS): unknown[] {
  checkYamlBounds(text, bounds)
  const lineCounter = new LineCounter()
  let documents: ReturnType<typeof parseAllDocuments>
  try {
    // prettyErrors would quote the offending source line, which may hold key material.
    documents = parseAllDocuments(text, { lineCounter, prettyErrors: false })
  } catch (error) {
    throw toMeshcaError(error, 'INVALID', 'invalid YAML')
  }
  const violations: Violation[] = []
  // Every bad token is an error of its own: the first few say what is wrong.
  const errors = documents.flatMap((document) => document.errors).slice(0, MAX_REPORTED_ERRORS)
  for (const error of errors) {
    const { line, col } = lineCounter.linePos(error.pos[0])
    violations.push({
      field: '',
      message: `YAML error at line ${line}, column ${col}: ${error.message}`,
    })
  }
  if (violations.length > 0) throw validationError(violations)

  const values: unknown[] = []
  for (const document of documents) {
    let value: unknown
    try {
      value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT })
    } catch (error) {
      const line = document.range ? lineCounter.linePos(document.range[0]).line : 1
      throw toMeshcaError(error, 'INVALID', `invalid YAML document starting at line ${line}`)
    }
    // An empty document (between two `---`, or only comments) reads as null; kubectl skips it too.
    if (value !== null && value !== undefined) values.push(value)
  }
  return values
}
