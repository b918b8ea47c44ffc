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
    const hostile = '-----BEGIN A-----\n'.repeat(60_000)
    const started = performance.now()
    expect(decodePem(hostile)).toEqual([])
    // Linear scanning takes milliseconds; the backtracking regex it replaced took 5 s for half as
    // many lines on a loaded 2-core machine, so about 20 s here: each misses the bound by far.
    expect(performance.now() - started).toBeLessThan(1_000)
  })
})
