import { describe, expect, it } from 'vitest'
import { serverEvents } from './sse-reader.ts'

function body(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk))
      controller.close()
    },
  })
}

async function all(stream: ReadableStream<Uint8Array>, max?: number) {
  const events = []
  for await (const event of serverEvents(stream, max)) events.push(event)
  return events
}

describe('serverEvents', () => {
  it('reads events across chunks, skipping comments, with CRLF too', async () => {
    const events = await all(
      body(
        'event: identity\nda',
        'ta: {"a":1}\nid: 1\n\n: heartbeat\n\n',
        'event: config\r\ndata: x\r\ndata: y\r\n\r\n'
      )
    )
    expect(events).toEqual([
      { event: 'identity', data: '{"a":1}' },
      { event: 'config', data: 'x\ny' },
    ])
  })

  it('refuses an event larger than the bound instead of buffering it', async () => {
    await expect(all(body(`data: ${'x'.repeat(2048)}`), 1024)).rejects.toThrow(
      'larger than 1024 bytes'
    )
  })
})
