/**
 * HTTP/1.1 over a bare socket, one connection per request: the request line, headers and body go
 * out byte for byte as given (no client normalizes the path, fills in a length or refuses a header),
 * which is what a hostile client does. The answer is parsed by hand; an SSE answer is read up to its
 * first event, then the connection is dropped.
 */
import { connect, type Socket } from 'node:net'

/** How the body travels: as is (with its length announced), in chunks, or announced but cut short. */
export type RawBody =
  | { readonly kind: 'bytes'; readonly data: Buffer }
  | { readonly kind: 'chunked'; readonly chunks: readonly Buffer[] }
  | { readonly kind: 'announced'; readonly length: number; readonly data: Buffer }

export interface RawRequest {
  readonly method: string
  /** The request target exactly as sent: percent-encode what must be. */
  readonly target: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: RawBody
}

export interface RawAnswer {
  readonly status: number
  /** Lower-case names; a repeated header keeps its last value. */
  readonly headers: Readonly<Record<string, string>>
  readonly body: Buffer
  readonly ms: number
}

export type RawOutcome =
  | ({ readonly ok: true } & RawAnswer)
  | { readonly ok: false; readonly error: string; readonly ms: number }

interface Head {
  readonly status: number
  readonly headers: Record<string, string>
  readonly bodyStart: number
}

function parseHead(buffer: Buffer): Head | undefined {
  const end = buffer.indexOf('\r\n\r\n')
  if (end < 0) return undefined
  const [statusLine = '', ...lines] = buffer.subarray(0, end).toString('latin1').split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? Number.NaN)
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  return { status, headers, bodyStart: end + 4 }
}

/** The de-chunked body, or `undefined` while the last chunk has not arrived. */
function dechunk(raw: Buffer): Buffer | undefined {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', at)
    if (lineEnd < 0) return undefined
    const size = Number.parseInt(raw.subarray(at, lineEnd).toString('latin1'), 16)
    if (Number.isNaN(size)) return Buffer.concat(parts)
    if (size === 0) return Buffer.concat(parts)
    if (raw.length < lineEnd + 2 + size + 2) return undefined
    parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size))
    at = lineEnd + 2 + size + 2
  }
}

/** The chunks received so far, complete or not: an SSE stream's chunks never end. */
function chunksSoFar(raw: Buffer): Buffer {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', at)
    if (lineEnd < 0) break
    const size = Number.parseInt(raw.subarray(at, lineEnd).toString('latin1'), 16)
    if (!(size > 0)) break
    parts.push(raw.subarray(lineEnd + 2, Math.min(raw.length, lineEnd + 2 + size)))
    at = lineEnd + 2 + size + 2
    if (at > raw.length) break
  }
  return Buffer.concat(parts)
}

function isEventStream(head: Head): boolean {
  return (head.headers['content-type'] ?? '').startsWith('text/event-stream')
}

/** The whole body when it is complete (by length, chunks, or the first SSE event). */
function completeBody(head: Head, raw: Buffer): Buffer | undefined {
  if (isEventStream(head) && head.status === 200) {
    const sofar = head.headers['transfer-encoding'] === 'chunked' ? chunksSoFar(raw) : raw
    const text = sofar.toString('utf8')
    // The first event: a block that has a data line (comments such as heartbeats come alone).
    const blocks = text.split('\n\n')
    const first = blocks.slice(0, -1).findIndex((b) => /^data: /m.test(b))
    return first < 0 ? undefined : Buffer.from(`${blocks.slice(0, first + 1).join('\n\n')}\n\n`)
  }
  if (head.headers['transfer-encoding'] === 'chunked') return dechunk(raw)
  const length = head.headers['content-length']
  if (length !== undefined) {
    const n = Number(length)
    return raw.length >= n ? raw.subarray(0, n) : undefined
  }
  // 204/304 and bodiless statuses end at the head.
  if (head.status === 204 || head.status === 304) return Buffer.alloc(0)
  return undefined
}

function requestHead(request: RawRequest, host: string): string {
  const headers: Record<string, string> = { host, connection: 'close', ...request.headers }
  const body = request.body
  if (body?.kind === 'bytes') headers['content-length'] = String(body.data.length)
  if (body?.kind === 'announced') headers['content-length'] = String(body.length)
  if (body?.kind === 'chunked') headers['transfer-encoding'] = 'chunked'
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}`)
  return `${request.method} ${request.target} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`
}

function bodyParts(body: RawBody | undefined): Buffer[] {
  if (body === undefined) return []
  if (body.kind === 'chunked') {
    return [
      ...body.chunks.map((chunk) =>
        Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')])
      ),
      Buffer.from('0\r\n\r\n'),
    ]
  }
  // Large bodies go out in slices so that writing stops once the server has answered.
  const parts: Buffer[] = []
  for (let at = 0; at < body.data.length; at += 64 * 1024) {
    parts.push(body.data.subarray(at, at + 64 * 1024))
  }
  return parts
}

/** Resolves on `event` (or any data, or close), when `done()` holds, or after `ms`. */
function waitFor(socket: Socket, done: () => boolean, ms: number, event?: 'drain') {
  return new Promise<void>((resolve) => {
    if (done()) return resolve()
    const finish = () => {
      clearTimeout(timer)
      socket.off('data', onData)
      if (event !== undefined) socket.off(event, finish)
      socket.off('close', finish)
      resolve()
    }
    // The socket's own data listener runs first (it was added first), so `done()` is current.
    const onData = () => {
      if (done()) finish()
    }
    const timer = setTimeout(finish, Number.isFinite(ms) ? ms : 2 ** 31 - 1)
    socket.on('data', onData)
    if (event !== undefined) socket.once(event, finish)
    socket.once('close', finish)
  })
}

interface Attempt {
  /** Before the body, wait this long for the server to refuse the request from its head alone. */
  readonly earlyAnswerMs: number
  /** Between two slices of the body, this long for an answer that ends the writing. */
  readonly pauseMs: number
}

/**
 * Sends one request on a new connection to `origin` (`http://host:port`) and resolves with the
 * answer, or with why there was none (timeout, connection closed or reset before an answer).
 *
 * A server may answer before it has read the whole body (a 413, a 401) and close the connection;
 * the rest of the body, still arriving, makes its kernel reset the connection, and the reset can
 * reach this client's writes before its reads have taken the answer. Such a request is sent once
 * more, like a client sending `Expect: 100-continue`: waiting for an early answer before the body
 * and between its slices.
 */
export async function rawRequest(
  origin: string,
  request: RawRequest,
  timeoutMs = 10_000
): Promise<RawOutcome> {
  const first = await attempt(origin, request, timeoutMs, { earlyAnswerMs: 300, pauseMs: 0 })
  const resetWhileSending =
    !first.ok && request.body !== undefined && /EPIPE|ECONNRESET/.test(first.error)
  if (!resetWhileSending) return first
  return attempt(origin, request, timeoutMs, { earlyAnswerMs: 1_000, pauseMs: 10 })
}

function attempt(
  origin: string,
  request: RawRequest,
  timeoutMs: number,
  pacing: Attempt
): Promise<RawOutcome> {
  const url = new URL(origin)
  const started = performance.now()
  return new Promise<RawOutcome>((resolve) => {
    const socket = connect(Number(url.port), url.hostname)
    let received = Buffer.alloc(0)
    let head: Head | undefined
    let settled = false
    const elapsed = () => Math.round(performance.now() - started)
    const settle = (outcome: RawOutcome) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve(outcome)
    }
    const answer = (body: Buffer) => {
      if (head === undefined) return
      settle({ ok: true, status: head.status, headers: head.headers, body, ms: elapsed() })
    }
    const timer = setTimeout(
      () => settle({ ok: false, error: `no answer within ${timeoutMs} ms`, ms: elapsed() }),
      timeoutMs
    )
    socket.on('data', (data: Buffer) => {
      received = Buffer.concat([received, data])
      head ??= parseHead(received)
      if (head === undefined) return
      const body = completeBody(head, received.subarray(head.bodyStart))
      if (body !== undefined) answer(body)
    })
    const closed = (why: string) => {
      // A server that answers and then closes (or resets, having refused the rest of a body) has
      // answered: what counts is what arrived before.
      if (head !== undefined && !isEventStream(head)) answer(received.subarray(head.bodyStart))
      else settle({ ok: false, error: why, ms: elapsed() })
    }
    socket.on('end', () => closed('connection closed without an answer'))
    socket.on('error', (error: NodeJS.ErrnoException) =>
      closed(`connection failed without an answer: ${error.code ?? error.message}`)
    )
    const answered = () => settled || head !== undefined || socket.destroyed
    socket.on('connect', async () => {
      socket.write(requestHead(request, url.host))
      const parts = bodyParts(request.body)
      if (parts.length > 4 || pacing.pauseMs > 0) {
        await waitFor(socket, answered, pacing.earlyAnswerMs)
      }
      for (const part of parts) {
        // Reads are handled between writes: once an answer starts, the rest of the body is dropped.
        await new Promise((resume) => setTimeout(resume, pacing.pauseMs))
        if (answered()) return
        if (!socket.write(part)) await waitFor(socket, answered, Number.POSITIVE_INFINITY, 'drain')
      }
    })
  })
}
