import { describe, expect, it } from 'vitest'
import { decodePem, encodePem } from './pem.ts'

describe('decodePem', () => {
  it('reads blocks in order around other text and skips broken ones', () => {
    const a = encodePem('CERTIFICATE', new Uint8Array([1, 2, 3]))
    const b = encodePem('RSA PRIVATE KEY', new Uint8Array([4, 5]))
    const text = `junk\n${a}-----BEGIN X-----\nnot base64!\n-----END X-----\n${b}-----BEGIN CERTIFICATE-----\nAQID\n`
    expect(decodePem(text)).toEqual([
      { label: 'CERTIFICATE', der: new Uint8Array([1, 2, 3]) },
      { label: 'RSA PRIVATE KEY', der: new Uint8Array([4, 5]) },
    ])
  })

  it('stays linear on hostile input (a CSR body of repeated BEGIN lines)', () => {
    const hostile = '-----BEGIN A-----\n'.repeat(30_000)
    const started = performance.now()
    expect(decodePem(hostile)).toEqual([])
    // Quadratic scanning took seconds here; linear takes milliseconds. The bound is generous on purpose.
    expect(performance.now() - started).toBeLessThan(1_000)
  })
})
