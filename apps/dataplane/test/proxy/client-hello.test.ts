/**
 * The ClientHello sniffer on real ClientHellos (node:tls and openssl s_client, captured by a plain
 * TCP server) and on hostile input: every prefix, random mutations, garbage, oversized records.
 */
import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:net'
import * as tls from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_CLIENT_HELLO_BYTES, sniffClientHello } from '../../src/proxy/index.ts'
import { closeServer, listen, sClient } from './support.ts'

let server: Server
let port: number
let captured: ((bytes: Buffer) => void) | undefined

/** The first bytes a client sends, read by a server that never answers. */
function capture(connect: () => void): Promise<Buffer> {
  return new Promise((resolve) => {
    captured = resolve
    connect()
  })
}

beforeAll(async () => {
  server = createServer((socket) => {
    socket.on('error', () => {})
    let bytes = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      bytes = Buffer.concat([bytes, chunk])
      const length = bytes.length >= 5 ? 5 + bytes.readUInt16BE(3) : Number.POSITIVE_INFINITY
      if (bytes.length >= length) {
        captured?.(bytes.subarray(0, length))
        socket.destroy()
      }
    })
  })
  port = await listen(server)
})
afterAll(() => closeServer(server))

function nodeHello(alpn: string[] | undefined): Promise<Buffer> {
  return capture(() => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      servername: 'backend{mesh=default}',
      ...(alpn ? { ALPNProtocols: alpn } : {}),
    })
    socket.on('error', () => {})
  })
}

describe('sniffClientHello', () => {
  it('reads the ALPN list of node:tls ClientHellos', async () => {
    expect(sniffClientHello(await nodeHello(['kuma']))).toEqual({ kind: 'tls', alpn: ['kuma'] })
    expect(sniffClientHello(await nodeHello(['h2', 'http/1.1']))).toEqual({
      kind: 'tls',
      alpn: ['h2', 'http/1.1'],
    })
    expect(sniffClientHello(await nodeHello(undefined))).toEqual({ kind: 'tls', alpn: [] })
  })

  it('reads the ALPN list of an openssl s_client ClientHello', async () => {
    const hello = capture(() => {
      void sClient(port, ['-alpn', 'kuma,h2'], {}, '', false)
    })
    expect(sniffClientHello(await hello)).toEqual({ kind: 'tls', alpn: ['kuma', 'h2'] })
  })

  it('says incomplete for every prefix of a ClientHello', async () => {
    const hello = await nodeHello(['kuma'])
    for (let length = 0; length < hello.length; length++) {
      expect(sniffClientHello(hello.subarray(0, length)).kind).toBe('incomplete')
    }
  })

  it('never throws on mutated ClientHellos', async () => {
    const hello = await nodeHello(['kuma', 'h2'])
    const kinds = new Set<string>()
    for (let i = 0; i < 3_000; i++) {
      const mutated = Buffer.from(hello)
      for (let j = 0; j < 1 + (i % 4); j++) {
        mutated[5 + ((randomBytes(2).readUInt16BE(0) % (mutated.length - 5)) | 0)] =
          randomBytes(1)[0] ?? 0
      }
      const cut = i % 3 === 0 ? mutated.subarray(0, 5 + (i % (mutated.length - 5))) : mutated
      kinds.add(sniffClientHello(cut).kind)
    }
    for (const kind of kinds) expect(['tls', 'invalid', 'incomplete']).toContain(kind)
  })

  it('classifies garbage without waiting for more than a record', () => {
    expect(sniffClientHello(Buffer.from('GET / HTTP/1.1\r\n'))).toEqual({ kind: 'plaintext' })
    expect(sniffClientHello(Buffer.from([0x16, 0x47]))).toEqual({ kind: 'plaintext' })
    expect(sniffClientHello(Buffer.from([0x16, 3, 1, 0xff, 0xff])).kind).toBe('invalid')
    expect(sniffClientHello(Buffer.from([0x16, 3, 1, 0, 0])).kind).toBe('invalid')
    expect(sniffClientHello(Buffer.from([0x16, 3, 1, 0, 10, 2])).kind).toBe('invalid')
    const oversized = Buffer.alloc(MAX_CLIENT_HELLO_BYTES + 100, 0x41)
    oversized.set([0x16, 3, 1, 0x40, 0x00, 1, 0xff, 0xff, 0xff])
    expect(sniffClientHello(oversized).kind).toBe('invalid')
    for (let i = 0; i < 2_000; i++) {
      const random = randomBytes(1 + (i % 600))
      if (i % 2 === 0 && random.length >= 3) random.set([0x16, 3, 1])
      expect(() => sniffClientHello(random)).not.toThrow()
    }
  })

  it('answers for any input of MAX_CLIENT_HELLO_BYTES', () => {
    for (let i = 0; i < 200; i++) {
      const bytes = randomBytes(MAX_CLIENT_HELLO_BYTES)
      bytes.set([0x16, 3, 3])
      expect(sniffClientHello(bytes).kind).not.toBe('incomplete')
    }
  })
})
