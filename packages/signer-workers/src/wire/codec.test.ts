import { describe, expect, it } from 'vitest'
import { ByteWriter } from './byte-writer.ts'
import { REPLY_ISSUED } from './protocol.ts'
import { decodeLeafRequests, encodeLeafRequests } from './request-codec.ts'
import { decodeReply, writeFailure } from './result-codec.ts'

describe('wire codecs', () => {
  it('round-trips leaf requests through one ArrayBuffer', () => {
    const spki = new Uint8Array(300).fill(7)
    const buffer = encodeLeafRequests([
      {
        subjectKey: { generate: 'ED25519' },
        serialNumber: new Uint8Array([1, 2, 3]),
        notBefore: new Date(1000),
        notAfter: new Date(2000),
        uris: ['spiffe://a/b', 'kuma://é'],
      },
      {
        subjectKey: { spki },
        serialNumber: new Uint8Array([9]),
        notBefore: new Date(0),
        notAfter: new Date(5),
        uris: [],
      },
    ])
    const [first, second] = [...decodeLeafRequests(buffer, 2)]
    expect(first?.generate).toBe(5)
    expect([...(first?.serialNumber ?? [])]).toEqual([1, 2, 3])
    expect(first?.notAfter).toBe(2000)
    expect(first?.uris.map((u) => new TextDecoder().decode(u))).toEqual([
      'spiffe://a/b',
      'kuma://é',
    ])
    expect(second?.generate).toBe(-1)
    expect(second?.spki?.length).toBe(300)
  })

  it('grows its buffer without losing what was written', () => {
    const writer = new ByteWriter(4)
    for (let i = 0; i < 1000; i++) writer.u32(i)
    writer.text('x'.repeat(10_000))
    const view = new DataView(writer.finish())
    expect(view.getUint32(999 * 4)).toBe(999)
    expect(view.byteLength).toBe(4000 + 4 + 10_000)
  })

  it('carries failures as plain data', () => {
    const writer = new ByteWriter()
    writer.u8(REPLY_ISSUED)
    writer.f64(1.5)
    writer.u8(0)
    writeFailure(writer, { code: 'INVALID', message: 'bad serial', path: 'serialNumber' })
    const reply = decodeReply(writer.finish(), 1)
    expect(reply).toEqual({
      kind: 'issued',
      elapsedMs: 1.5,
      outcomes: [
        { ok: false, failure: { code: 'INVALID', message: 'bad serial', path: 'serialNumber' } },
      ],
    })
  })
})
