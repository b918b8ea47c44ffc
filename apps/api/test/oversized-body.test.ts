/**
 * A body over the limit is refused before it is read, so the connection it came on cannot carry
 * another request: the 413 says `Connection: close` and the server closes it. Real sockets, the
 * Node adapter the entry uses.
 */
import type { AddressInfo } from 'node:net'
import { connect, type Socket } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness } from './support/harness.ts'

const LIMIT = 4096
let server: ReturnType<typeof createAdaptorServer>
let port = 0

beforeAll(async () => {
  const h = createHarness({ maxBodyBytes: LIMIT })
  server = createAdaptorServer({
    fetch: (request) => h.app.fetch(request, { remoteAddress: '127.0.0.1' }),
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
})

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

interface Exchange {
  /** Everything the server sent, in order. */
  readonly received: string
  /** The server ended the connection. */
  readonly closedByServer: boolean
}

/** Writes `parts` on one keep-alive connection and collects what comes back until it closes or idles. */
function exchange(parts: readonly (string | Buffer)[], idleMs = 1_500): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1')
    let received = ''
    let closedByServer = false
    let idle: NodeJS.Timeout | undefined
    const finish = () => {
      clearTimeout(idle)
      socket.destroy()
      resolve({ received, closedByServer })
    }
    const rearm = () => {
      clearTimeout(idle)
      idle = setTimeout(finish, idleMs)
    }
    socket.on('data', (data) => {
      received += data.toString('latin1')
      rearm()
    })
    socket.on('end', () => {
      closedByServer = true
      finish()
    })
    // A reset after the answer is a close too: what matters is what was received before it.
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') {
        closedByServer = true
        finish()
      } else reject(error)
    })
    socket.on('connect', () => {
      for (const part of parts) socket.write(part)
      rearm()
    })
  })
}

const MESH = '{"type":"Mesh","name":"m1"}'

function put(body: string, extraHeaders = ''): string {
  return `PUT /meshes/m1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extraHeaders}\r\n${body}`
}

const GET = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'

describe('an oversized body', () => {
  it('is answered 413 with Connection: close, and the connection is closed', async () => {
    const oversized = JSON.stringify({ type: 'Mesh', name: 'm1', pad: 'x'.repeat(LIMIT * 4) })
    // The next request pipelined behind it must not be read as part of (or after) the refused one.
    const { received, closedByServer } = await exchange([put(oversized), GET])
    expect(received).toMatch(/^HTTP\/1\.1 413 /)
    expect(received.toLowerCase()).toContain('connection: close')
    expect(received.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 413'])
    expect(closedByServer).toBe(true)
  })

  it('sent in chunks is refused the same way', async () => {
    const chunk = 'x'.repeat(1024)
    const head =
      'PUT /meshes/m1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n'
    const chunks = Array.from({ length: 8 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`)
    const { received, closedByServer } = await exchange([head, ...chunks, '0\r\n\r\n', GET])
    expect(received).toMatch(/^HTTP\/1\.1 413 /)
    expect(received.toLowerCase()).toContain('connection: close')
    expect(closedByServer).toBe(true)
  })

  it('leaves bodies under the limit on a connection that stays open for the next request', async () => {
    const { received, closedByServer } = await exchange([put(MESH), GET], 500)
    expect(received.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 201', 'HTTP/1.1 200'])
    expect(closedByServer).toBe(false)
  })

  it('does not keep a fetch client from its next request', async () => {
    const base = `http://127.0.0.1:${port}`
    const big = await fetch(`${base}/meshes/m2`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'Mesh', name: 'm2', pad: 'x'.repeat(LIMIT * 4) }),
    })
    expect(big.status).toBe(413)
    await big.text()
    const next = await fetch(`${base}/meshes`)
    expect(next.status).toBe(200)
  })
})
