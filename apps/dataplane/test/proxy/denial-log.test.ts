import type { Logger } from '@meshca/core-mtls'
import { describe, expect, it } from 'vitest'
import { DenialLog } from '../../src/proxy/index.ts'

describe('DenialLog', () => {
  it('logs a refusal once per key and interval, then the count it suppressed', () => {
    const lines: Record<string, unknown>[] = []
    const logger: Logger = { log: (_level, _message, fields) => lines.push({ ...fields }) }
    let now = 0
    const log = new DenialLog(logger, { intervalMs: 60_000, now: () => now })
    for (let i = 0; i < 100; i++) log.record('inbound:a', 'rbac_denied', 'spiffe://default/web')
    log.record('inbound:a', 'rbac_denied', 'spiffe://default/other')
    expect(lines).toHaveLength(2)
    now = 60_000
    log.record('inbound:a', 'rbac_denied', 'spiffe://default/web')
    expect(lines).toHaveLength(3)
    expect(lines[2]).toMatchObject({ peer: 'spiffe://default/web', suppressedSinceLastLog: 99 })
  })
})
