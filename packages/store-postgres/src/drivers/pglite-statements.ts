/**
 * The store's prepared statements on PGlite: named statements of the embedded database's one
 * session, run with PostgreSQL's extended protocol, and the in-process delivery of what the
 * store's own writes announce.
 */
import type { PGlite } from '@electric-sql/pglite'
import { protocol } from '@electric-sql/pglite'
import type { PreparedStatement, PrepareOptions, Row } from '../driver.ts'
import { WRITER_SETTING } from '../names.ts'

interface SessionEntry {
  readonly name: string
  parsed: boolean
}

/** The statements prepared in each embedded database's one session, by statement text. */
const preparedStatements = new WeakMap<PGlite, Map<string, SessionEntry>>()

/** `StoreDriver.uncommittedRuns` of each embedded database. */
const uncommittedRuns = new WeakMap<PGlite, number>()

export function uncommittedRunsOf(database: PGlite): number {
  return uncommittedRuns.get(database) ?? 0
}

/** This process's listeners of each embedded database, by channel: all of its listeners. */
const inProcessListeners = new WeakMap<PGlite, Map<string, Set<(payload: string) => void>>>()

export function addInProcessListener(
  database: PGlite,
  channel: string,
  listener: (payload: string) => void
): () => void {
  let channels = inProcessListeners.get(database)
  if (channels === undefined) {
    channels = new Map()
    inProcessListeners.set(database, channels)
  }
  const listeners = channels.get(channel) ?? new Set()
  channels.set(channel, listeners)
  // A wrapper of its own, so that a listener added twice is removed once per close.
  const entry = (payload: string) => listener(payload)
  listeners.add(entry)
  return () => {
    listeners.delete(entry)
  }
}

/** Ends what a write set for its transaction (`WRITER_SETTING`, `newSpec` in announced-writes.ts). */
const CLEAR_WRITER = `select set_config('${WRITER_SETTING}', '', true)`

const INVALID_STATEMENT_NAME = '26000'

type ExecResult = Awaited<ReturnType<PGlite['execProtocol']>>

/**
 * PGlite's `query()` sends parse, describe, bind, describe, execute and sync, each its own call into
 * PostgreSQL, and plans the statement every time. A named statement is parsed once; each run is one
 * call with bind, execute and sync (and, for a write in someone's transaction, what `run` adds).
 * Runs wait for PGlite's locks as `query()` does, so they never land inside a transaction of
 * PGlite's API; one may land inside a transaction that someone opened with a BEGIN of their own on
 * the shared session (see `run`).
 */
export function prepareOnPglite(
  database: PGlite,
  text: string,
  options: PrepareOptions
): PreparedStatement {
  let statements = preparedStatements.get(database)
  if (statements === undefined) {
    statements = new Map()
    preparedStatements.set(database, statements)
  }
  return new PgliteStatement(database, statements, text, options)
}

/** One statement of the session, parsed on first use, and again after someone's DISCARD. */
class NamedStatement {
  readonly #entry: SessionEntry
  readonly #text: string

  constructor(known: Map<string, SessionEntry>, text: string) {
    const entry = known.get(text) ?? { name: `meshca_${known.size + 1}`, parsed: false }
    known.set(text, entry)
    this.#entry = entry
    this.#text = text
  }

  bind(values: (string | null)[]): Uint8Array {
    return protocol.serialize.bind({ statement: this.#entry.name, values })
  }

  parse(again: boolean, into: Uint8Array[]): void {
    if (this.#entry.parsed && !again) return
    // Closing a statement that does not exist is no error.
    if (again) into.push(protocol.serialize.close({ type: 'S', name: this.#entry.name }))
    into.push(protocol.serialize.parse({ name: this.#entry.name, text: this.#text }))
  }

  parsed(): boolean {
    return this.#entry.parsed
  }

  markParsed(): void {
    this.#entry.parsed = true
  }
}

class PgliteStatement implements PreparedStatement {
  readonly #database: PGlite
  readonly #execute = protocol.serialize.execute({})
  readonly #sync = protocol.serialize.sync()
  readonly #notifying: NamedStatement
  /** The write that reports its payload instead of notifying (`PrepareOptions.inProcess`). */
  readonly #reporting: NamedStatement | undefined
  readonly #clearing: NamedStatement | undefined
  readonly #channel: string | undefined

  constructor(
    database: PGlite,
    known: Map<string, SessionEntry>,
    text: string,
    options: PrepareOptions
  ) {
    this.#database = database
    this.#notifying = new NamedStatement(known, text)
    const { inProcess } = options
    this.#reporting =
      inProcess === undefined ? undefined : new NamedStatement(known, inProcess.text)
    this.#channel = inProcess?.channel
    this.#clearing = options.notifies === true ? new NamedStatement(known, CLEAR_WRITER) : undefined
  }

  async run(params: readonly unknown[]): Promise<readonly Row[]> {
    const database = this.#database
    await database._checkReady()
    return database._runExclusiveTransaction(() =>
      database._runExclusiveQuery(async () => {
        try {
          return await this.#run(params, false)
        } catch (error) {
          // Someone ran DEALLOCATE or DISCARD on the shared session: prepare it again.
          if ((error as { code?: unknown }).code !== INVALID_STATEMENT_NAME) throw error
          return await this.#run(params, true)
        }
      })
    )
  }

  async #run(params: readonly unknown[], again: boolean): Promise<Row[]> {
    const database = this.#database
    const values = params.map(toParameter)
    // Inside someone's open transaction the write is theirs until they commit or roll back: it
    // notifies, and PostgreSQL delivers that at their commit only. It also clears the setting it
    // made for its transaction, which their later writes would otherwise inherit and skip the
    // triggers with. Outside one, the transaction ends with the write, and a reporting write hands
    // its payload to this process's listeners, who are all of them.
    const inTransaction = database.isInTransaction()
    const statement =
      this.#reporting !== undefined && !inTransaction ? this.#reporting : this.#notifying
    const clear = inTransaction ? this.#clearing : undefined
    const used = clear === undefined ? [statement] : [statement, clear]
    const messages: Uint8Array[] = []
    if (inTransaction) {
      // A statement someone deallocated would fail, and fail their transaction with it: there,
      // every run closes and parses what it uses, in the same call.
      uncommittedRuns.set(database, (uncommittedRuns.get(database) ?? 0) + 1)
      messages.push(...parses(used, true))
    } else if (again || used.some((entry) => !entry.parsed())) {
      await database.execProtocol(joinMessages([...parses(used, again), this.#sync]))
    }
    for (const entry of used) entry.markParsed()
    messages.push(statement.bind(values), this.#execute)
    if (clear !== undefined) messages.push(clear.bind([]), this.#execute)
    messages.push(this.#sync)
    const reportTo = statement === this.#reporting ? this.#channel : undefined
    // A reporting write is committed once PostgreSQL answered: its listeners hear of it before the
    // data directory is written, as they do of a notification, whether or not that write fails.
    const { messages: answers } = await database.execProtocol(joinMessages(messages), {
      syncToFs: reportTo === undefined,
    })
    const rows = writtenRows(answers)
    if (reportTo !== undefined) {
      this.#deliver(reportTo, rows)
      await database.syncToFs()
    }
    return rows
  }

  /** As PGlite delivers a notification: one microtask per listener, before the write returns. */
  #deliver(channel: string, rows: readonly Row[]): void {
    const listeners = inProcessListeners.get(this.#database)?.get(channel)
    if (listeners === undefined) return
    for (const row of rows) {
      const payload = row[row.length - 1]
      if (typeof payload !== 'string') continue
      for (const listener of listeners) queueMicrotask(() => listener(payload))
    }
  }
}

/** Parse messages for those of `used` not parsed yet; `again`: closes and parses them all. */
function parses(used: readonly NamedStatement[], again: boolean): Uint8Array[] {
  const messages: Uint8Array[] = []
  for (const statement of used) statement.parse(again, messages)
  return messages
}

/** The write's rows: they come first; the clearing statement's row is not one of them. */
function writtenRows(answers: ExecResult['messages']): Row[] {
  const rows: Row[] = []
  for (const message of answers) {
    if (message instanceof protocol.messages.CommandCompleteMessage) break
    if (message instanceof protocol.messages.DataRowMessage) rows.push(message.fields)
  }
  return rows
}

/** Parameters go as text, as PostgreSQL reads them; the store passes strings and numbers only. */
function toParameter(value: unknown): string | null {
  if (value === null || value === undefined) return null
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'bigint') return String(value)
  throw new TypeError(`unsupported statement parameter of type ${typeof value}`)
}

function joinMessages(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0
  for (const part of parts) length += part.length
  const joined = new Uint8Array(length)
  let offset = 0
  for (const part of parts) {
    joined.set(part, offset)
    offset += part.length
  }
  return joined
}
