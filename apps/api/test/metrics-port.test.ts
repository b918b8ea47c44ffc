/**
 * The metrics port of a control plane in this process: every family the operations guide lists,
 * rendered by prom-client in the 0.0.4 text format, with the signer gauges read at scrape time.
 */
import { Buffer } from 'node:buffer'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config.ts'
import { type ControlPlane, startControlPlane } from '../src/control-plane.ts'

const FAMILIES = [
  ['meshca_identities_issued_total', 'counter'],
  ['meshca_identity_issuance_failures_total', 'counter'],
  ['meshca_identity_issuance_duration_seconds', 'histogram'],
  ['meshca_signer_queued_requests', 'gauge'],
  ['meshca_signer_tasks_in_flight', 'gauge'],
  ['meshca_signer_key_pool_keys', 'gauge'],
  ['meshca_dataplane_certificate_expiry_timestamp_seconds', 'gauge'],
  ['meshca_ca_certificate_expiry_timestamp_seconds', 'gauge'],
  ['meshca_dataplanes', 'gauge'],
  ['meshca_daemon_leader', 'gauge'],
  ['meshca_daemon_tick_duration_seconds', 'histogram'],
  ['meshca_daemon_errors_total', 'counter'],
  ['meshca_daemon_subscriptions_closed_total', 'counter'],
] as const

describe('the metrics port', () => {
  let dataDir: string
  let controlPlane: ControlPlane
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'meshca-metrics-'))
    const config = loadConfig(
      { MESHCA_SECRET_KEY: Buffer.alloc(32, 7).toString('base64') },
      ['--store', 'memory', '--data-dir', dataDir, '--signer-key-pool', '1'],
      dataDir
    )
    controlPlane = await startControlPlane(config)
  })
  afterAll(async () => {
    await controlPlane?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('serves every family with its type, unlabelled ones at 0 before anything happened', async () => {
    await controlPlane.daemon?.tick()
    const response = await controlPlane.metricsApp.request('/metrics')
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    const text = await response.text()
    for (const [name, type] of FAMILIES) {
      expect(text).toContain(`# TYPE ${name} ${type}\n`)
    }
    expect(text).toMatch(/^meshca_daemon_leader 1$/m)
    expect(text).toMatch(/^meshca_signer_queued_requests 0$/m)
    expect(text).toMatch(/^meshca_signer_key_pool_keys\{key_type="RSA_2048"\} \d+$/m)
    expect(text).toMatch(/^meshca_daemon_tick_duration_seconds_bucket\{le="0.001"\} \d+$/m)
    expect(text).toMatch(/^meshca_daemon_tick_duration_seconds_count [1-9]\d*$/m)
  })

  it('answers /ready, and 404 with a hint elsewhere', async () => {
    expect(await (await controlPlane.metricsApp.request('/ready')).text()).toBe('ok')
    const missing = await controlPlane.metricsApp.request('/metric')
    expect(missing.status).toBe(404)
    expect(await missing.text()).toContain('/metrics')
  })
})
