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
  /**
   * Values of every kind (collections, scalars, aliases), counted over all documents: in JSON from
   * separators and openings, in YAML as every token but white space (indicators, punctuation and
   * comments too), both from above.
   */
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
 * recurse per level and collect an error per bad token) see it. Every token but white space counts
 * against `maxNodes` (comments too: the parser keeps each one), so no longer text reaches them. Nesting is counted
 * from above: flow collections, the single-pair mappings a `key: value` makes inside `[…]`, block
 * collections by the columns where they open (as the parser's indentation does), and each further
 * `:` on one line. A document the parser would nest deeper than `maxDepth` is refused here; a few
 * malformed ones are refused one level early.
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
  /** Open flow collections; `pair` when a `key: value` inside a `[…]` made a mapping there. */
  readonly #flows: { readonly seq: boolean; pair: boolean }[] = []
  /** Levels the flow collections add: each collection, and each pair mapping inside one. */
  #flowDepth = 0
  /** A `:` was seen on this line of the block structure already. */
  #valueOnLine = false
  #nodes = 0
  #aliases = 0
  #documents = 0
  /** A document started (`---`, or the start of the stream) and holds nothing yet. */
  #documentPending = true
  /** Column where this line's structure starts: after indentation and `- `/`? ` indicators. */
  #lineContent: number | undefined
  /** The last token was a `- ` or `? ` indicator: the next one starts the line's content. */
  #afterIndicator = false

  constructor(bounds: DocumentBounds) {
    this.#bounds = bounds
  }

  token(token: string): void {
    const type = CST.tokenType(token)
    if (type === 'doc-mode' || type === 'doc-start') this.#startDocument()
    // Markers are not part of the source.
    if (type === 'doc-mode' || type === 'scalar' || type === 'flow-error-end') return
    if (isStructural(type) && this.#flows.length === 0) this.#structure(type)
    if (type !== 'space' && type !== 'newline') this.#countNode()
    this.#count(type)
    this.#at.advance(token)
    if (token.includes('\n')) {
      this.#lineContent = undefined
      this.#valueOnLine = false
    }
  }

  #startDocument(): void {
    this.#documentPending = true
    this.#blocks.length = 0
    this.#flows.length = 0
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
      // A second `:` on a line nests a mapping in the parser before it is found to be an error.
      if (this.#valueOnLine) this.#open({ column, kind: 'map' })
      else if (top === undefined || top.column !== content || top.kind !== 'map') {
        this.#open({ column: content, kind: 'map' })
      }
      this.#valueOnLine = true
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
  }

  #checkDepth(): void {
    if (this.#blocks.length + this.#flowDepth > this.#bounds.maxDepth) {
      tooDeep(this.#bounds, this.#at)
    }
  }

  #countNode(): void {
    if (++this.#nodes > this.#bounds.maxNodes) tooManyNodes(this.#bounds)
  }

  /** Flow nesting and aliases; every token was counted as a node already. */
  #count(type: string | null): void {
    const top = this.#flows.at(-1)
    switch (type) {
      case 'flow-seq-start':
      case 'flow-map-start':
        this.#flows.push({ seq: type === 'flow-seq-start', pair: false })
        this.#flowDepth++
        this.#checkDepth()
        break
      case 'flow-seq-end':
      case 'flow-map-end':
        if (top !== undefined) {
          this.#flows.pop()
          this.#flowDepth -= top.pair ? 2 : 1
        }
        break
      case 'map-value-ind':
        if (top?.seq && !top.pair) {
          top.pair = true
          this.#flowDepth++
          this.#checkDepth()
        }
        break
      case 'comma':
        if (top?.pair) {
          top.pair = false
          this.#flowDepth--
        }
        break
      case 'alias':
        if (++this.#aliases > this.#bounds.maxAliases) {
          exceeded(`more than ${this.#bounds.maxAliases} aliases`)
        }
        break
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
