import { isMeshcaError } from '@meshca/core-mtls'
import { describe, expect, it } from 'vitest'
import { loadConfig } from './config.ts'

const cwd = '/srv/meshca'

function refusal(env: Record<string, string>, argv: string[] = []): string {
  try {
    loadConfig(env, argv, cwd)
  } catch (error) {
    if (isMeshcaError(error, 'INVALID')) return error.message
    throw error
  }
  throw new Error('expected the configuration to be refused')
}

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    expect(loadConfig({}, [], cwd)).toEqual({
      host: '127.0.0.1',
      port: 5681,
      store: 'pglite',
      dataDir: '/srv/meshca/.meshca',
      postgresReadCacheMs: 0,
      secretKey: { kind: 'generated-file', path: '/srv/meshca/.meshca/secret.key' },
      localhostIsAdmin: true,
      defaultMesh: true,
      logLevel: 'info',
      dataplaneHeartbeatIntervalMs: 15_000,
      dataplaneReissueWindowMs: 5_000,
      dataplaneOfflineGraceMs: 15_000,
      signer: 'workers',
      signerKeyPool: 256,
      signerMaxQueue: 512,
      daemon: true,
      daemonIntervalMs: 10_000,
      metricsPort: 5680,
      allowFileDataSources: false,
    })
  })

  it('reads the environment, and flags override it', () => {
    const env = {
      MESHCA_API_HOST: '0.0.0.0',
      MESHCA_API_PORT: '8080',
      MESHCA_STORE: 'memory',
      MESHCA_DATA_DIR: '/var/lib/meshca',
      MESHCA_API_LOCALHOST_IS_ADMIN: 'false',
      MESHCA_DEFAULT_MESH: 'false',
      MESHCA_LOG_LEVEL: 'debug',
      MESHCA_DP_HEARTBEAT_INTERVAL: '30s',
      MESHCA_DP_REISSUE_WINDOW: '1.5s',
      MESHCA_DP_OFFLINE_GRACE: '20s',
      MESHCA_SIGNER: 'inline',
      MESHCA_SIGNER_KEY_POOL: '0',
      MESHCA_DAEMON: 'false',
      MESHCA_DAEMON_INTERVAL: '1m',
      MESHCA_METRICS_PORT: 'off',
      MESHCA_ALLOW_FILE_DATA_SOURCES: 'true',
    }
    expect(loadConfig(env, [], cwd)).toEqual({
      host: '0.0.0.0',
      port: 8080,
      store: 'memory',
      dataDir: '/var/lib/meshca',
      postgresReadCacheMs: 0,
      secretKey: { kind: 'ephemeral' },
      localhostIsAdmin: false,
      defaultMesh: false,
      logLevel: 'debug',
      dataplaneHeartbeatIntervalMs: 30_000,
      dataplaneReissueWindowMs: 1_500,
      dataplaneOfflineGraceMs: 20_000,
      signer: 'inline',
      signerKeyPool: 0,
      signerMaxQueue: 512,
      daemon: false,
      daemonIntervalMs: 60_000,
      metricsPort: undefined,
      allowFileDataSources: true,
    })
    const flags = loadConfig(
      env,
      [
        ...[
          '--port',
          '0',
          '--store',
          'pglite',
          '--data-dir',
          'data',
          '--localhost-is-admin',
          'true',
        ],
        ...['--dp-heartbeat-interval', '0', '--dp-reissue-window', '250ms'],
        ...['--signer', 'workers', '--signer-key-pool', '16', '--daemon', 'true'],
        ...['--daemon-interval', '2s', '--metrics-port', '0'],
        ...['--allow-file-data-sources', 'false', '--dp-offline-grace', '2s'],
      ],
      cwd
    )
    expect(flags).toMatchObject({
      signer: 'workers',
      signerKeyPool: 16,
      daemon: true,
      daemonIntervalMs: 2_000,
      metricsPort: 0,
      allowFileDataSources: false,
      dataplaneHeartbeatIntervalMs: 0,
      dataplaneReissueWindowMs: 250,
      dataplaneOfflineGraceMs: 2_000,
      port: 0,
      store: 'pglite',
      dataDir: '/srv/meshca/data',
      localhostIsAdmin: true,
      secretKey: { kind: 'generated-file', path: '/srv/meshca/data/secret.key' },
    })
  })

  it('refuses a bad signer, key pool, daemon period or metrics port with the variable named', () => {
    expect(refusal({ MESHCA_SIGNER: 'gpu' })).toBe(
      'MESHCA_SIGNER must be one of workers, inline, not "gpu"'
    )
    expect(refusal({ MESHCA_SIGNER_KEY_POOL: '-1' })).toBe(
      'MESHCA_SIGNER_KEY_POOL must be a whole number of at least 0, not "-1"'
    )
    expect(refusal({ MESHCA_SIGNER_MAX_QUEUE: '0' })).toBe(
      'MESHCA_SIGNER_MAX_QUEUE must be a whole number of at least 1, not "0"'
    )
    expect(refusal({ MESHCA_DAEMON: 'maybe' })).toBe(
      'MESHCA_DAEMON must be true or false, not "maybe"'
    )
    expect(refusal({ MESHCA_DAEMON_INTERVAL: '10ms' })).toBe(
      'MESHCA_DAEMON_INTERVAL must be at least 100ms'
    )
    expect(refusal({ MESHCA_METRICS_PORT: '70000' })).toBe(
      'MESHCA_METRICS_PORT must be a port number (0-65535), not "70000"'
    )
  })

  it('takes the encryption key from the environment or a file', () => {
    expect(loadConfig({ MESHCA_SECRET_KEY: 'a2V5' }, [], cwd).secretKey).toEqual({
      kind: 'env',
      base64: 'a2V5',
    })
    expect(loadConfig({ MESHCA_SECRET_KEY_FILE: 'key' }, [], cwd).secretKey).toEqual({
      kind: 'file',
      path: '/srv/meshca/key',
    })
    expect(refusal({ MESHCA_SECRET_KEY: 'a2V5', MESHCA_SECRET_KEY_FILE: 'key' })).toBe(
      'set only one of MESHCA_SECRET_KEY and MESHCA_SECRET_KEY_FILE'
    )
  })

  it('needs a URL and a shared key for PostgreSQL', () => {
    expect(refusal({ MESHCA_STORE: 'postgres' })).toBe(
      'MESHCA_STORE=postgres needs MESHCA_POSTGRES_URL'
    )
    expect(
      refusal({ MESHCA_STORE: 'postgres', MESHCA_POSTGRES_URL: 'postgres://db/meshca' })
    ).toMatch(/^MESHCA_STORE=postgres needs MESHCA_SECRET_KEY or MESHCA_SECRET_KEY_FILE/)
    expect(
      loadConfig(
        {
          MESHCA_STORE: 'postgres',
          MESHCA_POSTGRES_URL: 'postgres://db/meshca',
          MESHCA_SECRET_KEY_FILE: '/k',
        },
        [],
        cwd
      )
    ).toMatchObject({
      store: 'postgres',
      postgresUrl: 'postgres://db/meshca',
      postgresReadCacheMs: 0,
    })
  })

  it('turns the PostgreSQL read cache on with a duration, off with off', () => {
    const env = {
      MESHCA_STORE: 'postgres',
      MESHCA_POSTGRES_URL: 'postgres://db/meshca',
      MESHCA_SECRET_KEY_FILE: '/k',
    }
    const cacheMs = (extra: Record<string, string>, argv: string[] = []) =>
      loadConfig({ ...env, ...extra }, argv, cwd).postgresReadCacheMs
    expect(cacheMs({ MESHCA_POSTGRES_READ_CACHE: '1s' })).toBe(1_000)
    expect(cacheMs({ MESHCA_POSTGRES_READ_CACHE: '250ms' })).toBe(250)
    expect(cacheMs({ MESHCA_POSTGRES_READ_CACHE: '1.5ms' })).toBe(2)
    expect(cacheMs({ MESHCA_POSTGRES_READ_CACHE: 'OFF' })).toBe(0)
    expect(cacheMs({ MESHCA_POSTGRES_READ_CACHE: '1s' }, ['--postgres-read-cache', 'off'])).toBe(0)
    expect(refusal({ ...env, MESHCA_POSTGRES_READ_CACHE: 'soon' })).toMatch(
      /^MESHCA_POSTGRES_READ_CACHE must be a duration such as 15s or 500ms/
    )
    expect(refusal({ ...env, MESHCA_POSTGRES_READ_CACHE: '-1s' })).toMatch(
      /^MESHCA_POSTGRES_READ_CACHE (cannot be negative|must be a duration)/
    )
  })

  it.each([
    [{ MESHCA_API_PORT: 'http' }, 'MESHCA_API_PORT must be a port number (0-65535), not "http"'],
    [{ MESHCA_API_PORT: '70000' }, 'MESHCA_API_PORT must be a port number (0-65535), not "70000"'],
    [
      { MESHCA_STORE: 'sqlite' },
      'MESHCA_STORE must be one of pglite, postgres, memory, not "sqlite"',
    ],
    [
      { MESHCA_API_LOCALHOST_IS_ADMIN: 'maybe' },
      'MESHCA_API_LOCALHOST_IS_ADMIN must be true or false, not "maybe"',
    ],
    [
      { MESHCA_LOG_LEVEL: 'loud' },
      'MESHCA_LOG_LEVEL must be one of debug, info, warn, error, not "loud"',
    ],
    [
      { MESHCA_DP_REISSUE_WINDOW: '5' },
      'MESHCA_DP_REISSUE_WINDOW must be a duration such as 15s or 500ms: time: missing unit in duration "5"',
    ],
    [{ MESHCA_DP_HEARTBEAT_INTERVAL: '-1s' }, 'MESHCA_DP_HEARTBEAT_INTERVAL cannot be negative'],
  ])('refuses %j', (env, message) => {
    expect(refusal(env)).toBe(message)
  })

  it('refuses unknown flags', () => {
    expect(refusal({}, ['--prot', '1'])).toMatch(/Unknown option '--prot'/)
  })
})
