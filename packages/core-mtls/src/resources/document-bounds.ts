/**
 * Bounds on a JSON or YAML text, checked by a linear scan before any parser builds a tree from it.
 * Parsers recurse per level of nesting and allocate per node: a body of a few kilobytes of `[` can
 * exhaust the stack, and a flat list of a megabyte builds hundreds of thousands of objects. No Kuma
 * resource comes near these bounds (a Mesh nests about ten levels and holds a few hundred values).
 */
import { CST, Lexer } from 'yaml'
import { validationError } from '../errors.ts'
import { MAX_JSON_DEPTH } from './json-reader.ts'

export interface DocumentBounds {
  /** Collections inside collections: `{"a": [1]}` nests two levels. */
  readonly maxDepth: number
  /** Values of every kind (collections, scalars, aliases), counted over all documents. */
  readonly maxNodes: number
  /** YAML aliases (`*name`) in the text; their expansion is bounded separately when building. */
  readonly maxAliases: number
  /** YAML documents (`---`); JSON is always one. */
  readonly maxDocuments: number
}

/** What a request body may be: one resource. */
export const REQUEST_BODY_BOUNDS: DocumentBounds = {
  maxDepth: MAX_JSON_DEPTH,
  maxNodes: 20_000,
  maxAliases: 100,
  maxDocuments: 1,
}

/** What a file of resources (`meshca apply -f`) may be: many resources. */
export const FILE_BOUNDS: DocumentBounds = {
  maxDepth: MAX_JSON_DEPTH,
  maxNodes: 1_000_000,
  maxAliases: 10_000,
  maxDocuments: 10_000,
}

/** A line and a 1-based column, counted while scanning. */
class Position {
  line = 1
  column = 1

  advance(text: string): void {
    const newline = text.lastIndexOf('\n')
    if (newline === -1) {
      this.column += text.length
      return
    }
    for (let i = 0; i <= newline; i++) if (text.charCodeAt(i) === 10) this.line++
    this.column = text.length - newline
  }

  toString(): string {
    return `line ${this.line}, column ${this.column}`
  }
}

function exceeded(message: string): never {
  throw validationError([{ field: '', message }])
}

function tooDeep(bounds: DocumentBounds, at: Position): never {
  exceeded(`more than ${bounds.maxDepth} levels of nesting at ${at}`)
}

function tooManyNodes(bounds: DocumentBounds): never {
  exceeded(`more than ${bounds.maxNodes} values`)
}

/**
 * Checks a JSON text against `bounds` (documents aside) without parsing it. Strings are skipped
 * with their escapes; the count of values is approximated from above by separators and openings.
 */
export function checkJsonBounds(text: string, bounds: DocumentBounds): void {
  let depth = 0
  let nodes = 1
  let inString = false
  let lineStart = 0
  let line = 1
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i)
    if (inString) {
      if (ch === 92 /* \ */) i++
      else if (ch === 34 /* " */) inString = false
      continue
    }
    switch (ch) {
      case 34:
        inString = true
        break
      case 10:
        line++
        lineStart = i + 1
        break
      case 91 /* [ */:
      case 123 /* { */:
        if (++depth > bounds.maxDepth) {
          const at = new Position()
          at.line = line
          at.column = i - lineStart + 1
          tooDeep(bounds, at)
        }
        if (++nodes > bounds.maxNodes) tooManyNodes(bounds)
        break
      case 93 /* ] */:
      case 125 /* } */:
        depth--
        break
      case 44 /* , */:
        if (++nodes > bounds.maxNodes) tooManyNodes(bounds)
        break
    }
  }
}

/** A block collection open at a column: a sequence, or a mapping (whose key starts there). */
interface OpenBlock {
  readonly column: number
  readonly kind: 'seq' | 'map'
}

/** Nesting beyond which the parser's own recursion would be at risk, whatever the depth count says. */
const MAX_STRUCTURE_COLUMN = 1024

/**
 * Checks a YAML text against `bounds` on the lexer's tokens, before the parser and composer (which
 * recurse per level) see it. Flow nesting (`[`, `{`) is counted exactly; block nesting is tracked
 * by the columns where collections open, as the parser's indentation does, so that a document the
 * parser would nest deeper than `maxDepth` is refused here.
 */
export function checkYamlBounds(text: string, bounds: DocumentBounds): void {
  const scan = new YamlScan(bounds)
  for (const token of new Lexer().lex(text)) scan.token(token)
}

/** The state of `checkYamlBounds` between two tokens. */
class YamlScan {
  readonly #bounds: DocumentBounds
  readonly #at = new Position()
  readonly #blocks: OpenBlock[] = []
  #flowDepth = 0
  #nodes = 0
  #aliases = 0
  #documents = 0
  /** A document started (`---`, or the start of the stream) and holds nothing yet. */
  #documentPending = true
  /** Column where this line's structure starts: after indentation and `- `/`? ` indicators. */
  #lineContent: number | undefined
  /** The last token was a `- ` or `? ` indicator: the next one starts the line's content. */
  #afterIndicator = false
  #afterScalarMarker = false

  constructor(bounds: DocumentBounds) {
    this.#bounds = bounds
  }

  token(token: string): void {
    const type = CST.tokenType(token)
    // The scalar marker is followed by the scalar's source, which tokenType does not name.
    const isScalarSource = this.#afterScalarMarker && type === null
    this.#afterScalarMarker = type === 'scalar'
    if (type === 'doc-mode' || type === 'doc-start') this.#startDocument()
    // Markers are not part of the source.
    if (type === 'doc-mode' || type === 'scalar' || type === 'flow-error-end') return
    if (isStructural(type) && this.#flowDepth === 0) this.#structure(type)
    this.#count(type, isScalarSource)
    this.#at.advance(token)
    if (token.includes('\n')) this.#lineContent = undefined
  }

  #startDocument(): void {
    this.#documentPending = true
    this.#blocks.length = 0
    this.#flowDepth = 0
    this.#lineContent = undefined
  }

  #countDocument(): void {
    this.#documentPending = false
    const max = this.#bounds.maxDocuments
    if (++this.#documents > max) exceeded(`more than ${max} YAML document${max === 1 ? '' : 's'}`)
  }

  /** A token of the block structure: where it is says which collections it is inside. */
  #structure(type: string | null): void {
    if (this.#documentPending) this.#countDocument()
    const column = this.#at.column
    const startsContent = this.#lineContent === undefined || this.#afterIndicator
    // Only where a line's content starts can a block collection open.
    if (startsContent && column > MAX_STRUCTURE_COLUMN) {
      exceeded(`structure indented beyond column ${MAX_STRUCTURE_COLUMN} at ${this.#at}`)
    }
    if (this.#lineContent === undefined) this.#closeBlocksFrom(column, type === 'seq-item-ind')
    if (startsContent) this.#lineContent = column
    this.#afterIndicator = false
    if (type === 'seq-item-ind' || type === 'explicit-key-ind') {
      this.#open({ column, kind: type === 'seq-item-ind' ? 'seq' : 'map' })
      this.#afterIndicator = true
    } else if (type === 'map-value-ind') {
      const top = this.#blocks.at(-1)
      const content = this.#lineContent ?? column
      if (top === undefined || top.column !== content || top.kind !== 'map') {
        this.#open({ column: content, kind: 'map' })
      }
    }
  }

  /** The first structural token of a line closes the block collections it is not inside. */
  #closeBlocksFrom(column: number, isSeqItem: boolean): void {
    const blocks = this.#blocks
    while (blocks.length > 0) {
      const top = blocks[blocks.length - 1] as OpenBlock
      if (top.column < column) break
      // A sequence may be a mapping's value at the mapping's own indentation.
      if (top.column === column && top.kind === 'map' && isSeqItem) break
      blocks.pop()
    }
  }

  #open(block: OpenBlock): void {
    this.#blocks.push(block)
    this.#checkDepth()
    this.#countNode()
  }

  #checkDepth(): void {
    if (this.#blocks.length + this.#flowDepth > this.#bounds.maxDepth) {
      tooDeep(this.#bounds, this.#at)
    }
  }

  #countNode(): void {
    if (++this.#nodes > this.#bounds.maxNodes) tooManyNodes(this.#bounds)
  }

  #count(type: string | null, isScalarSource: boolean): void {
    switch (type) {
      case 'flow-seq-start':
      case 'flow-map-start':
        this.#flowDepth++
        this.#checkDepth()
        this.#countNode()
        break
      case 'flow-seq-end':
      case 'flow-map-end':
        if (this.#flowDepth > 0) this.#flowDepth--
        break
      case 'alias':
        if (++this.#aliases > this.#bounds.maxAliases) {
          exceeded(`more than ${this.#bounds.maxAliases} aliases`)
        }
        this.#countNode()
        break
      case 'single-quoted-scalar':
      case 'double-quoted-scalar':
      case 'block-scalar-header':
        this.#countNode()
        break
      default:
        if (isScalarSource) this.#countNode()
    }
  }
}

const NOT_STRUCTURAL = new Set([
  'space',
  'newline',
  'comment',
  'doc-start',
  'doc-end',
  'directive-line',
  'byte-order-mark',
  'flow-seq-end',
  'flow-map-end',
  'comma',
])

/** Tokens that are (part of) a node: what a document holds, and where its structure is. */
function isStructural(type: string | null): boolean {
  return type === null || !NOT_STRUCTURAL.has(type)
}
