/**
 * Server-Sent Events off a fetch response body, bounded: an event larger than `maxEventBytes` ends
 * the stream with an error rather than growing a buffer without end.
 */

export interface ServerEvent {
  readonly event: string
  readonly data: string
}

/** Larger than any identity or configuration the control plane sends (its resources are ≤ 1 MiB). */
export const MAX_EVENT_BYTES = 16 * 1024 * 1024

function parseBlock(block: string): ServerEvent | undefined {
  let event = 'message'
  const data: string[] = []
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    let value = colon < 0 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'event') event = value
    else if (field === 'data') data.push(value)
  }
  return data.length === 0 ? undefined : { event, data: data.join('\n') }
}

/** Yields each event of the body until it ends (or the request is aborted). */
export async function* serverEvents(
  body: ReadableStream<Uint8Array>,
  maxEventBytes = MAX_EVENT_BYTES
): AsyncGenerator<ServerEvent> {
  const decoder = new TextDecoder()
  let buffer = ''
  const reader = body.getReader()
  try {
    for (;;) {
      const chunk = await reader.read()
      if (chunk.done) return
      // Only the new text (and the character before it) can complete an event's blank line: a
      // large event is scanned once, not once per chunk.
      const scanFrom = Math.max(0, buffer.length - 1)
      buffer += decoder.decode(chunk.value, { stream: true }).replaceAll('\r\n', '\n')
      let end = buffer.indexOf('\n\n', scanFrom)
      while (end >= 0) {
        const event = parseBlock(buffer.slice(0, end))
        buffer = buffer.slice(end + 2)
        if (event !== undefined) yield event
        end = buffer.indexOf('\n\n')
      }
      if (buffer.length > maxEventBytes) {
        throw new Error(`an event of the control plane is larger than ${maxEventBytes} bytes`)
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined)
  }
}
