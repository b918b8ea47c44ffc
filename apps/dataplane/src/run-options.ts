/**
 * `meshca-dp run` flags, named as kuma-dp's where kuma-dp has them. Every value is checked here, so
 * that a bad flag stops the agent with exit code 2 and a sentence, before anything starts.
 */
import { parseArgs } from 'node:util'
import { isLogLevel, type LogLevel, MeshcaError, parseGoDuration } from '@meshca/core-mtls'

export interface RunOptions {
  /** The control plane's API, e.g. `http://127.0.0.1:5681`. */
  readonly cpAddress: string
  readonly token: { readonly file: string } | { readonly value: string }
  readonly dataplaneFile: string
  readonly dataplaneVars: Readonly<Record<string, string>>
  readonly name?: string
  readonly mesh?: string
  /** 0 for an ephemeral port; `undefined` for none. */
  readonly adminPort?: number
  readonly adminAddress: string
  /** How long SIGTERM lets open connections finish. */
  readonly drainTimeMs: number
  readonly logLevel: LogLevel
}

export const DEFAULT_CP_ADDRESS = 'http://127.0.0.1:5681'
export const DEFAULT_ADMIN_PORT = 9901
export const DEFAULT_DRAIN_TIME = '30s'

export const RUN_HELP = `meshca-dp run: the meshca data plane agent (a sidecar doing the mesh's mutual TLS)

Usage: meshca-dp run --dataplane-file FILE --dataplane-token-file FILE [flags]

  --cp-address URL             the control plane's API (default ${DEFAULT_CP_ADDRESS})
  --dataplane-token-file FILE  the data plane token (from meshca generate dataplane-token)
  --dataplane-token TOKEN      the same, inline
  --dataplane-file FILE        the Dataplane resource (Universal YAML or JSON), a template
  --dataplane-var K=V          a template value: {{ K }} in the file becomes V (repeatable)
  --name NAME, --mesh MESH     the Dataplane's name and mesh, when the file does not say
  --admin-port PORT            readiness (/ready) and Prometheus metrics (/metrics); 0 picks a
                               free port; "off" for none (default ${DEFAULT_ADMIN_PORT})
  --admin-address ADDR         where the admin port listens (default 127.0.0.1)
  --drain-time D               on SIGTERM, open connections get this long to finish
                               (Go duration, default ${DEFAULT_DRAIN_TIME})
  --log-level LEVEL            debug | info | warn | error (default info)
`

function invalid(message: string): MeshcaError {
  return new MeshcaError('INVALID', message)
}

function port(text: string, flag: string): number {
  const value = Number(text)
  if (!/^\d{1,5}$/.test(text) || value > 65535) {
    throw invalid(`${flag} must be a port number (0 to 65535), not ${JSON.stringify(text)}`)
  }
  return value
}

function vars(values: readonly string[]): Record<string, string> {
  const result: Record<string, string> = {}
  for (const pair of values) {
    const at = pair.indexOf('=')
    const key = at < 0 ? '' : pair.slice(0, at)
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw invalid(
        `--dataplane-var must be KEY=VALUE with KEY a name, not ${JSON.stringify(pair)}`
      )
    }
    result[key] = pair.slice(at + 1)
  }
  return result
}

function cpAddress(text: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw invalid(
      `--cp-address must be a URL such as ${DEFAULT_CP_ADDRESS}, not ${JSON.stringify(text)}`
    )
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid(`--cp-address must be an http or https URL, not ${JSON.stringify(text)}`)
  }
  return url.href.replace(/\/+$/, '')
}

export function parseRunOptions(argv: readonly string[]): RunOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'cp-address': { type: 'string' },
      'dataplane-token-file': { type: 'string' },
      'dataplane-token': { type: 'string' },
      'dataplane-file': { type: 'string' },
      'dataplane-var': { type: 'string', multiple: true },
      name: { type: 'string' },
      mesh: { type: 'string' },
      'admin-port': { type: 'string' },
      'admin-address': { type: 'string' },
      'drain-time': { type: 'string' },
      'log-level': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  })
  const tokenFile = values['dataplane-token-file']
  const tokenValue = values['dataplane-token']
  if ((tokenFile === undefined) === (tokenValue === undefined)) {
    throw invalid(
      'give the data plane token once: --dataplane-token-file FILE or --dataplane-token TOKEN'
    )
  }
  const dataplaneFile = values['dataplane-file']
  if (dataplaneFile === undefined) throw invalid('--dataplane-file is required')
  const logLevel = values['log-level'] ?? 'info'
  if (!isLogLevel(logLevel))
    throw invalid(`--log-level must be debug, info, warn or error, not ${JSON.stringify(logLevel)}`)
  const adminPortText = values['admin-port'] ?? String(DEFAULT_ADMIN_PORT)
  const drainText = values['drain-time'] ?? DEFAULT_DRAIN_TIME
  let drainTimeMs: number
  try {
    drainTimeMs = parseGoDuration(drainText)
  } catch {
    throw invalid(`--drain-time must be a duration such as 30s, not ${JSON.stringify(drainText)}`)
  }
  return {
    cpAddress: cpAddress(values['cp-address'] ?? DEFAULT_CP_ADDRESS),
    token: tokenFile === undefined ? { value: tokenValue ?? '' } : { file: tokenFile },
    dataplaneFile,
    dataplaneVars: vars(values['dataplane-var'] ?? []),
    ...(values.name === undefined ? {} : { name: values.name }),
    ...(values.mesh === undefined ? {} : { mesh: values.mesh }),
    ...(adminPortText === 'off' ? {} : { adminPort: port(adminPortText, '--admin-port') }),
    adminAddress: values['admin-address'] ?? '127.0.0.1',
    drainTimeMs,
    logLevel,
  }
}
