/**
 * The control plane's configuration: environment variables, overridden by command-line flags.
 * Documented in docs/operations.md ("Configuration"); `--help` prints the same list.
 */
import { isAbsolute, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { LOG_LEVELS, type LogLevel, MeshcaError, parseGoDuration } from '@meshca/core-mtls'

export const STORE_KINDS = ['pglite', 'postgres', 'memory'] as const
export type StoreKind = (typeof STORE_KINDS)[number]

export const SIGNER_KINDS = ['workers', 'inline'] as const
export type SignerKind = (typeof SIGNER_KINDS)[number]

/** Where the key that encrypts Secrets at rest comes from (decision 13 of docs/decisions.md). */
export type SecretKeySource =
  /** `MESHCA_SECRET_KEY`: base64 of 32 bytes. */
  | { readonly kind: 'env'; readonly base64: string }
  /** `MESHCA_SECRET_KEY_FILE`: a file holding the base64 text (or the 32 raw bytes). */
  | { readonly kind: 'file'; readonly path: string }
  /** The embedded default: `<data dir>/secret.key`, created with mode 0600 on first start. */
  | { readonly kind: 'generated-file'; readonly path: string }
  /** The memory store: its Secrets die with the process, so may the key. */
  | { readonly kind: 'ephemeral' }

export interface ApiConfig {
  readonly host: string
  readonly port: number
  readonly store: StoreKind
  /** Absolute. */
  readonly dataDir: string
  readonly postgresUrl?: string
  /**
   * PostgreSQL only: how long a row read by key may be answered from memory; 0 (the default) reads
   * the server every time. See `readCacheMaxAgeMs` in packages/store-postgres.
   */
  readonly postgresReadCacheMs: number
  readonly secretKey: SecretKeySource
  readonly localhostIsAdmin: boolean
  /** Create the Mesh `default` on start when it does not exist, as Kuma does. */
  readonly defaultMesh: boolean
  readonly logLevel: LogLevel
  /** SSE heartbeat (comment line) period on data plane streams; 0 for none. */
  readonly dataplaneHeartbeatIntervalMs: number
  /** A mesh change re-issues its connected data planes' identities spread over this window. */
  readonly dataplaneReissueWindowMs: number
  /** A data plane whose stream ended stays among others' endpoints this long. */
  readonly dataplaneOfflineGraceMs: number
  /** `workers`: the piscina pool (signing off the event loop); `inline`: on the event loop. */
  readonly signer: SignerKind
  /** RSA-2048 key pairs the worker signer keeps generated ahead of demand. */
  readonly signerKeyPool: number
  /** Issuance requests that may wait for the worker signer; beyond, 503 + Retry-After. */
  readonly signerMaxQueue: number
  /** Run the rotation daemon in this process. */
  readonly daemon: boolean
  /** Period of the daemon's reconcile tick. */
  readonly daemonIntervalMs: number
  /** Port of `/metrics` (Prometheus); 0 picks a free one; `undefined`: not served. */
  readonly metricsPort: number | undefined
  /** Mesh CA backends may read `file` data sources from this host (admins only, as any `mtls`). */
  readonly allowFileDataSources: boolean
}

export const DEFAULT_PORT = 5681
export const DEFAULT_HOST = '127.0.0.1'
export const DEFAULT_DATA_DIR = '.meshca'
export const DEFAULT_DATAPLANE_HEARTBEAT = '15s'
export const DEFAULT_DATAPLANE_REISSUE_WINDOW = '5s'
export const DEFAULT_DATAPLANE_OFFLINE_GRACE = '15s'
/** Kuma's diagnostics port, next to the API's. */
export const DEFAULT_METRICS_PORT = 5680
export const DEFAULT_SIGNER_KEY_POOL = 256
/**
 * Enough to keep the threads busy through a burst, few enough that the last one waits tens of
 * seconds, not minutes: a data plane retrying after `Retry-After` beats one whose request timed
 * out.
 */
export const DEFAULT_SIGNER_MAX_QUEUE = 512
export const DEFAULT_DAEMON_INTERVAL = '10s'

export const CONFIG_HELP = `Usage: meshca-api [flags]

Flags override the environment variables named after them.

  --host HOST                 MESHCA_API_HOST        address to listen on (default ${DEFAULT_HOST})
  --port PORT                 MESHCA_API_PORT        port to listen on; 0 picks a free one (default ${DEFAULT_PORT})
  --store KIND                MESHCA_STORE           pglite | postgres | memory (default pglite)
  --data-dir DIR              MESHCA_DATA_DIR        data directory (default ./${DEFAULT_DATA_DIR})
  --postgres-url URL          MESHCA_POSTGRES_URL    PostgreSQL URL, required with --store postgres
  --postgres-read-cache D|off MESHCA_POSTGRES_READ_CACHE  rows read by key answered from memory for
                              at most this long, a Go duration; writes through another instance
                              show once announced, within it (default off: every read queries)
  --secret-key-file FILE      MESHCA_SECRET_KEY_FILE file with the base64 secret-encryption key
                              MESHCA_SECRET_KEY      the base64 secret-encryption key itself
  --localhost-is-admin BOOL   MESHCA_API_LOCALHOST_IS_ADMIN  loopback callers are admins (default true)
  --default-mesh BOOL         MESHCA_DEFAULT_MESH    create the Mesh "default" on start (default true)
  --log-level LEVEL           MESHCA_LOG_LEVEL       debug | info | warn | error (default info)
  --dp-heartbeat-interval D   MESHCA_DP_HEARTBEAT_INTERVAL  heartbeat period of data plane streams,
                              a Go duration; 0 for none (default ${DEFAULT_DATAPLANE_HEARTBEAT})
  --dp-reissue-window D       MESHCA_DP_REISSUE_WINDOW  a mesh change re-issues identities spread
                              over this window, a Go duration (default ${DEFAULT_DATAPLANE_REISSUE_WINDOW})
  --dp-offline-grace D        MESHCA_DP_OFFLINE_GRACE  a data plane whose streams ended stays in
                              other data planes' endpoints this long (default ${DEFAULT_DATAPLANE_OFFLINE_GRACE})
  --signer KIND               MESHCA_SIGNER          workers (a thread pool, default) | inline
  --signer-key-pool N         MESHCA_SIGNER_KEY_POOL RSA-2048 keys generated ahead of demand
                              (default ${DEFAULT_SIGNER_KEY_POOL})
  --signer-max-queue N        MESHCA_SIGNER_MAX_QUEUE requests that may wait for the signer; beyond,
                              503 with Retry-After (default ${DEFAULT_SIGNER_MAX_QUEUE})
  --daemon BOOL               MESHCA_DAEMON          run the rotation daemon in this process (default true)
  --daemon-interval D         MESHCA_DAEMON_INTERVAL period of the daemon's reconcile (default ${DEFAULT_DAEMON_INTERVAL})
  --metrics-port PORT|off     MESHCA_METRICS_PORT    Prometheus /metrics port on the API host;
                              0 picks a free one (default ${DEFAULT_METRICS_PORT})
  --allow-file-data-sources BOOL  MESHCA_ALLOW_FILE_DATA_SOURCES  CA backends may read files of this
                              host (regular files up to 256 KiB; default false)
  --help                      print this help
`

function invalid(message: string, path: string): MeshcaError {
  return new MeshcaError('INVALID', message, { path })
}

function parseBoolean(value: string, name: string): boolean {
  const normalized = value.trim().toLowerCase()
  if (['true', '1', 'yes', 'on'].includes(normalized)) return true
  if (['false', '0', 'no', 'off'].includes(normalized)) return false
  throw invalid(`${name} must be true or false, not ${JSON.stringify(value)}`, name)
}

/** `off`, in any case: a setting that would otherwise be a number or duration is turned off. */
function isOff(value: string): boolean {
  return value.trim().toLowerCase() === 'off'
}

function parseDuration(value: string, name: string): number {
  let ms: number
  try {
    ms = parseGoDuration(value.trim())
  } catch (error) {
    throw invalid(
      `${name} must be a duration such as 15s or 500ms: ${(error as Error).message}`,
      name
    )
  }
  if (ms < 0) throw invalid(`${name} cannot be negative`, name)
  return ms
}

function parseChoice<T extends string>(value: string, choices: readonly T[], name: string): T {
  const chosen = choices.find((c) => c === value)
  if (chosen === undefined) {
    throw invalid(
      `${name} must be one of ${choices.join(', ')}, not ${JSON.stringify(value)}`,
      name
    )
  }
  return chosen
}

function parseCount(
  value: string | undefined,
  fallback: number,
  min: number,
  name: string
): number {
  if (value === undefined) return fallback
  if (!/^[0-9]{1,6}$/.test(value.trim()) || Number(value) < min) {
    throw invalid(
      `${name} must be a whole number of at least ${min}, not ${JSON.stringify(value)}`,
      name
    )
  }
  return Number(value)
}

function parsePort(value: string, name: string): number {
  if (!/^[0-9]+$/.test(value.trim()) || Number(value) > 65535) {
    throw invalid(`${name} must be a port number (0-65535), not ${JSON.stringify(value)}`, name)
  }
  return Number(value)
}

export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h')
}

const FLAG_OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  store: { type: 'string' },
  'data-dir': { type: 'string' },
  'postgres-url': { type: 'string' },
  'postgres-read-cache': { type: 'string' },
  'secret-key-file': { type: 'string' },
  'localhost-is-admin': { type: 'string' },
  'default-mesh': { type: 'string' },
  'log-level': { type: 'string' },
  'dp-heartbeat-interval': { type: 'string' },
  'dp-reissue-window': { type: 'string' },
  'dp-offline-grace': { type: 'string' },
  signer: { type: 'string' },
  'signer-key-pool': { type: 'string' },
  'signer-max-queue': { type: 'string' },
  daemon: { type: 'string' },
  'daemon-interval': { type: 'string' },
  'metrics-port': { type: 'string' },
  'allow-file-data-sources': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

/** A setting's text: its flag when given, else its environment variable when set and not empty. */
type Pick = (flag: string, variable: string) => string | undefined

function settingPicker(
  env: Readonly<Record<string, string | undefined>>,
  argv: readonly string[]
): Pick {
  let flags: Record<string, string | boolean | undefined>
  try {
    flags = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: FLAG_OPTIONS,
    }).values
  } catch (error) {
    throw invalid((error as Error).message, 'argv')
  }
  return (flag, variable) => {
    const fromFlag = flags[flag]
    if (typeof fromFlag === 'string') return fromFlag
    const fromEnv = env[variable]
    return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv
  }
}

/** The configuration from `env` and `argv`; `INVALID` with a readable message when it is wrong. */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  argv: readonly string[],
  cwd: string
): ApiConfig {
  const pick = settingPicker(env, argv)
  const storage = storageSettings(pick, cwd)
  const logLevel = parseChoice(
    pick('log-level', 'MESHCA_LOG_LEVEL') ?? 'info',
    LOG_LEVELS,
    'MESHCA_LOG_LEVEL'
  )
  const work = workerSettings(pick)
  const localhostIsAdminText = pick('localhost-is-admin', 'MESHCA_API_LOCALHOST_IS_ADMIN')
  const defaultMeshText = pick('default-mesh', 'MESHCA_DEFAULT_MESH')
  const fileSourcesText = pick('allow-file-data-sources', 'MESHCA_ALLOW_FILE_DATA_SOURCES')
  const daemonText = pick('daemon', 'MESHCA_DAEMON')
  return {
    ...storage,
    secretKey: secretKeySource(
      env,
      pick('secret-key-file', 'MESHCA_SECRET_KEY_FILE'),
      storage.store,
      { dataDir: storage.dataDir, cwd }
    ),
    localhostIsAdmin:
      localhostIsAdminText === undefined
        ? true
        : parseBoolean(localhostIsAdminText, 'MESHCA_API_LOCALHOST_IS_ADMIN'),
    defaultMesh:
      defaultMeshText === undefined ? true : parseBoolean(defaultMeshText, 'MESHCA_DEFAULT_MESH'),
    logLevel,
    dataplaneHeartbeatIntervalMs: parseDuration(
      pick('dp-heartbeat-interval', 'MESHCA_DP_HEARTBEAT_INTERVAL') ?? DEFAULT_DATAPLANE_HEARTBEAT,
      'MESHCA_DP_HEARTBEAT_INTERVAL'
    ),
    dataplaneReissueWindowMs: parseDuration(
      pick('dp-reissue-window', 'MESHCA_DP_REISSUE_WINDOW') ?? DEFAULT_DATAPLANE_REISSUE_WINDOW,
      'MESHCA_DP_REISSUE_WINDOW'
    ),
    dataplaneOfflineGraceMs: parseDuration(
      pick('dp-offline-grace', 'MESHCA_DP_OFFLINE_GRACE') ?? DEFAULT_DATAPLANE_OFFLINE_GRACE,
      'MESHCA_DP_OFFLINE_GRACE'
    ),
    ...work,
    daemon: daemonText === undefined ? true : parseBoolean(daemonText, 'MESHCA_DAEMON'),
    allowFileDataSources:
      fileSourcesText !== undefined &&
      parseBoolean(fileSourcesText, 'MESHCA_ALLOW_FILE_DATA_SOURCES'),
  }
}

/** Where the API listens and where its data lives. */
function storageSettings(pick: Pick, cwd: string) {
  const host = pick('host', 'MESHCA_API_HOST') ?? DEFAULT_HOST
  const portText = pick('port', 'MESHCA_API_PORT')
  const port = portText === undefined ? DEFAULT_PORT : parsePort(portText, 'MESHCA_API_PORT')
  const store = parseChoice(pick('store', 'MESHCA_STORE') ?? 'pglite', STORE_KINDS, 'MESHCA_STORE')
  const dataDirText = pick('data-dir', 'MESHCA_DATA_DIR') ?? DEFAULT_DATA_DIR
  const dataDir = isAbsolute(dataDirText) ? dataDirText : resolve(cwd, dataDirText)
  const postgresUrl = pick('postgres-url', 'MESHCA_POSTGRES_URL')
  if (store === 'postgres' && postgresUrl === undefined) {
    throw invalid('MESHCA_STORE=postgres needs MESHCA_POSTGRES_URL', 'MESHCA_POSTGRES_URL')
  }
  const readCacheText = pick('postgres-read-cache', 'MESHCA_POSTGRES_READ_CACHE')
  const postgresReadCacheMs =
    readCacheText === undefined || isOff(readCacheText)
      ? 0
      : // The store counts whole milliseconds: 500us is 1 ms, not an invalid 0.5.
        Math.ceil(parseDuration(readCacheText, 'MESHCA_POSTGRES_READ_CACHE'))
  return {
    host,
    port,
    store,
    dataDir,
    ...(postgresUrl === undefined ? {} : { postgresUrl }),
    postgresReadCacheMs,
  }
}

/** The signer's threads and queue, the daemon's period and the metrics port. */
function workerSettings(pick: Pick) {
  const signer = parseChoice(
    pick('signer', 'MESHCA_SIGNER') ?? 'workers',
    SIGNER_KINDS,
    'MESHCA_SIGNER'
  )
  const signerKeyPool = parseCount(
    pick('signer-key-pool', 'MESHCA_SIGNER_KEY_POOL'),
    DEFAULT_SIGNER_KEY_POOL,
    0,
    'MESHCA_SIGNER_KEY_POOL'
  )
  const signerMaxQueue = parseCount(
    pick('signer-max-queue', 'MESHCA_SIGNER_MAX_QUEUE'),
    DEFAULT_SIGNER_MAX_QUEUE,
    1,
    'MESHCA_SIGNER_MAX_QUEUE'
  )
  const daemonIntervalMs = parseDuration(
    pick('daemon-interval', 'MESHCA_DAEMON_INTERVAL') ?? DEFAULT_DAEMON_INTERVAL,
    'MESHCA_DAEMON_INTERVAL'
  )
  if (daemonIntervalMs < 100) {
    throw invalid('MESHCA_DAEMON_INTERVAL must be at least 100ms', 'MESHCA_DAEMON_INTERVAL')
  }
  const metricsPortText = pick('metrics-port', 'MESHCA_METRICS_PORT')
  const metricsPort =
    metricsPortText === undefined
      ? DEFAULT_METRICS_PORT
      : isOff(metricsPortText)
        ? undefined
        : parsePort(metricsPortText, 'MESHCA_METRICS_PORT')
  return { signer, signerKeyPool, signerMaxQueue, daemonIntervalMs, metricsPort }
}

function secretKeySource(
  env: Readonly<Record<string, string | undefined>>,
  file: string | undefined,
  store: StoreKind,
  dirs: { readonly dataDir: string; readonly cwd: string }
): SecretKeySource {
  const inline = env.MESHCA_SECRET_KEY
  if (inline !== undefined && inline !== '' && file !== undefined) {
    throw invalid(
      'set only one of MESHCA_SECRET_KEY and MESHCA_SECRET_KEY_FILE',
      'MESHCA_SECRET_KEY'
    )
  }
  if (inline !== undefined && inline !== '') return { kind: 'env', base64: inline }
  if (file !== undefined) {
    return { kind: 'file', path: isAbsolute(file) ? file : resolve(dirs.cwd, file) }
  }
  switch (store) {
    case 'pglite':
      return { kind: 'generated-file', path: join(dirs.dataDir, 'secret.key') }
    case 'memory':
      return { kind: 'ephemeral' }
    case 'postgres':
      // A key made up here would differ on every instance and be lost with this machine.
      throw invalid(
        'MESHCA_STORE=postgres needs MESHCA_SECRET_KEY or MESHCA_SECRET_KEY_FILE: every control plane instance sharing the database must use the same key',
        'MESHCA_SECRET_KEY'
      )
  }
}
