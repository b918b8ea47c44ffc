import { describe, expect, it } from 'vitest'
import { rotationInstant, shouldRotate } from './rotation.ts'

const generation = new Date('2026-01-01T00:00:00Z')
const hourLater = new Date(generation.getTime() + 3600_000)

describe('rotationInstant', () => {
  it('rotates a 1 h certificate after 48 min without jitter (Kuma golden)', () => {
    expect(rotationInstant({ generation, expiration: hourLater })).toEqual(
      new Date('2026-01-01T00:48:00Z')
    )
    expect(
      shouldRotate(new Date(generation.getTime() + 48 * 60_000), {
        generation,
        expiration: hourLater,
      })
    ).toBe(false)
    expect(
      shouldRotate(new Date(generation.getTime() + 48 * 60_000 + 1), {
        generation,
        expiration: hourLater,
      })
    ).toBe(true)
  })

  it('spreads rotation over the jitter window and never before 4/5', () => {
    const lifetime = 3600_000
    const lowest = rotationInstant({ generation, expiration: hourLater, jitter: 0.05, unit: 0 })
    const highest = rotationInstant({
      generation,
      expiration: hourLater,
      jitter: 0.05,
      unit: 0.999999,
    })
    expect(lowest.getTime() - generation.getTime()).toBe(lifetime * 0.8)
    expect(highest.getTime() - generation.getTime()).toBeLessThan(lifetime * 0.85)
    expect(highest.getTime() - generation.getTime()).toBeGreaterThan(lifetime * 0.849)
  })

  it('uses Go integer division on odd lifetimes', () => {
    const expiration = new Date(generation.getTime() + 10_003)
    expect(rotationInstant({ generation, expiration }).getTime() - generation.getTime()).toBe(8_000)
  })

  it('caps a silly jitter at 20 % so a certificate is never used to its end', () => {
    const at = rotationInstant({ generation, expiration: hourLater, jitter: 5, unit: 0.999999 })
    expect(at.getTime()).toBeLessThan(hourLater.getTime())
  })
})
