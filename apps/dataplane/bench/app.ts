/**
 * The bench's application, a child process of its own: a TCP server whose first byte picks the
 * connection's kind. `E`: echo every later byte (the small request/response of the connection and
 * latency runs). `S`: a sink that counts and drops every later byte (the bulk run). Tells its parent
 * its port over IPC and, when asked, how many bytes the sinks have taken so far.
 */
import { createServer, type Socket } from 'node:net'

let sunk = 0

function serve(socket: Socket): void {
  socket.setNoDelay(true)
  socket.on('error', () => socket.destroy())
  socket.once('data', (first: Buffer) => {
    const kind = first[0]
    const rest = first.subarray(1)
    if (kind === 0x45 /* E */) {
      if (rest.length > 0) socket.write(rest)
      socket.pipe(socket)
    } else if (kind === 0x53 /* S */) {
      sunk += rest.length
      socket.on('data', (chunk: Buffer) => {
        sunk += chunk.length
      })
      socket.on('end', () => socket.end())
    } else {
      socket.destroy()
    }
  })
}

const server = createServer({ noDelay: true }, serve)
server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
  const address = server.address()
  process.send?.({ type: 'listening', port: typeof address === 'object' ? address?.port : 0 })
})
process.on('message', (message: { type: string; id: number }) => {
  if (message.type === 'sunk') {
    process.send?.({ type: 'sunk', id: message.id, bytes: sunk, at: performance.now() })
  }
})
// The bench ends, or dies: nothing may outlive it.
process.on('disconnect', () => process.exit(0))
process.on('SIGTERM', () => process.exit(0))
process.on('SIGINT', () => process.exit(0))
