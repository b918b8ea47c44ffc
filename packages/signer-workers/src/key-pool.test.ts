import { describe, expect, it } from 'vitest'
import { DrainEstimate } from './drain-estimate.ts'
import { KeyPool } from './key-pool.ts'

const pair = (n: number) => ({
  keyType: 'RSA_2048' as const,
  spki: new Uint8Array([n]),
  pkcs8: new Uint8Array([n, n]),
})

describe('KeyPool', () => {
  it('hands out each key once and counts what is being generated', () => {
    const pool = new KeyPool({ RSA_2048: 3, ED25519: 0 })
    expect(pool.hungry()).toEqual(['RSA_2048'])
    pool.startGenerating('RSA_2048', 2)
    expect(pool.deficit('RSA_2048')).toBe(1)
    pool.finishGenerating('RSA_2048', 2, [pair(1), pair(2)])
    expect(pool.size('RSA_2048')).toBe(2)
    const taken = [pool.take('RSA_2048'), pool.take('RSA_2048'), pool.take('RSA_2048')]
    expect(taken.map((k) => k?.spki[0])).toEqual([2, 1, undefined])
    expect(pool.take('ECDSA_P256')).toBeUndefined()
  })

  it('never holds more than its depth, and a failed refill frees its reservation', () => {
    const pool = new KeyPool({ RSA_2048: 1 })
    pool.startGenerating('RSA_2048', 1)
    pool.finishGenerating('RSA_2048', 1, [pair(1), pair(2)])
    expect(pool.size('RSA_2048')).toBe(1)
    expect(pool.full()).toBe(true)
    pool.take('RSA_2048')
    pool.startGenerating('RSA_2048', 1)
    pool.finishGenerating('RSA_2048', 1, [])
    expect(pool.deficit('RSA_2048')).toBe(1)
  })

  it('refuses a negative or fractional depth', () => {
    expect(() => new KeyPool({ RSA_2048: -1 })).toThrow(RangeError)
    expect(() => new KeyPool({ RSA_2048: 1.5 })).toThrow(RangeError)
  })
})

describe('DrainEstimate', () => {
  it('answers one second before anything was measured, and at most a minute', () => {
    const estimate = new DrainEstimate()
    expect(estimate.seconds(1_000_000, 1)).toBe(1)
    estimate.record(1, 150)
    expect(estimate.seconds(40, 1)).toBe(6)
    expect(estimate.seconds(40, 2)).toBe(3)
    expect(estimate.seconds(1_000_000, 1)).toBe(60)
  })
})
