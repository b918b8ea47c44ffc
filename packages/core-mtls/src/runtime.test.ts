import { describe, expect, it } from 'vitest'

/** Which runtime executes the tests: the Bun and Deno passes of `npm test` must really run there. */
function detectRuntime(): 'bun' | 'deno' | 'node' {
  if ('Bun' in globalThis) return 'bun'
  if ('Deno' in globalThis) return 'deno'
  return 'node'
}

describe('runtime', () => {
  it('is the runtime the test command asked for', () => {
    const expected = process.env.MESHCA_EXPECT_RUNTIME ?? 'node'
    expect(detectRuntime()).toBe(expected)
  })

  it('has the Web Crypto API core relies on', async () => {
    const digest = await globalThis.crypto.subtle.digest('SHA-256', new Uint8Array([1]))
    expect(digest.byteLength).toBe(32)
  })
})
