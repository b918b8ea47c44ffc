import { afterEach, describe, expect, it, vi } from 'vitest'
import { timerAt } from './timer-at.ts'

afterEach(() => {
  vi.useRealTimers()
})

describe('timerAt', () => {
  it('waits past the 24.8 days a single setTimeout can hold (a 30-day certificate rotates at 24+)', () => {
    vi.useFakeTimers()
    const fired: number[] = []
    const at = Date.now() + 25.5 * 86_400_000
    timerAt(
      at,
      () => Date.now(),
      () => fired.push(Date.now())
    )
    vi.advanceTimersByTime(2 ** 31)
    expect(fired).toEqual([])
    vi.advanceTimersByTime(at - Date.now() - 1)
    expect(fired).toEqual([])
    vi.advanceTimersByTime(1)
    expect(fired).toEqual([at])
  })

  it('fires on the next turn for an instant already past, and not at all once canceled', () => {
    vi.useFakeTimers()
    const fired: string[] = []
    timerAt(
      Date.now() - 1000,
      () => Date.now(),
      () => fired.push('past')
    )
    timerAt(
      Date.now() + 1000,
      () => Date.now(),
      () => fired.push('canceled')
    ).cancel()
    expect(fired).toEqual([])
    vi.advanceTimersByTime(2000)
    expect(fired).toEqual(['past'])
  })
})
