/**
 * A Server-Sent Events response for a data plane stream: events go from the stream's source to the
 * client until either side ends it.
 */
import type { Context } from 'hono'
import { streamSSE } from 'hono/streaming'
import type { AppEnv } from '../context.ts'
import type { EventSink } from '../dataplanes/session-outbox.ts'

/** What feeds a stream: an identity session or a configuration subscription. */
export interface EventSource {
  /** Starts writing to the client. */
  attach(sink: EventSink): void
  /** Resolves when the source ended the stream. */
  readonly ended: Promise<void>
  /** The client went away. */
  disconnected(): void
}

export function eventStreamResponse(c: Context<AppEnv>, source: EventSource): Response {
  const response = streamSSE(c, async (stream) => {
    let finish: () => void = () => {}
    const finished = new Promise<void>((resolve) => {
      finish = resolve
    })
    const sink: EventSink = {
      send: (event, data, id) => stream.writeSSE({ event, data, id }),
      comment: async (text) => {
        await stream.write(`: ${text}\n\n`)
      },
      close: () => finish(),
    }
    const disconnected = () => {
      source.disconnected()
      finish()
    }
    stream.onAbort(disconnected)
    c.req.raw.signal.addEventListener('abort', disconnected, { once: true })
    source.attach(sink)
    await Promise.race([finished, source.ended])
  })
  // The socket of a stream serves nothing else: when the stream ends (shutdown included), so does
  // the connection, instead of idling in keep-alive and holding the server's close.
  response.headers.set('connection', 'close')
  response.headers.set('x-accel-buffering', 'no')
  return response
}
