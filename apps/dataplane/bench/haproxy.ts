/**
 * The HAProxy pair: two haproxy processes in TCP mode doing what the two meshca-dp processes do.
 * The outbound listens in plain TCP and originates mTLS to the inbound (client certificate, the
 * mesh CA, ALPN `kuma`, SNI `backend{mesh=default}`); the inbound terminates mTLS (requires a client
 * certificate of the CA) and forwards to the app.
 *
 * What HAProxy checks differs from the agent: it cannot match a URI SAN, so the outbound checks the
 * upstream's certificate chain and that its names (here the CN) match the SNI it sends, and the
 * inbound admits any client certificate of the CA (the bench's policy is allow-all anyway).
 */
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BenchCertificates } from './certs.ts'
import { start } from './support.ts'

export function haproxyVersion(): string | undefined {
  try {
    const out = execFileSync('haproxy', ['-v'], { encoding: 'utf8', stdio: 'pipe' })
    return /HA-?Proxy version (\S+)/.exec(out)?.[1] ?? out.split('\n')[0]
  } catch {
    return undefined
  }
}

export interface HaproxyPairOptions {
  readonly label: string
  readonly dir: string
  readonly certificates: BenchCertificates
  readonly outboundPort: number
  readonly inboundPort: number
  readonly appPort: number
  /** `nbthread` of each process; undefined: HAProxy's default (one per CPU). */
  readonly threads: number | undefined
  /**
   * Whether the outbound may resume TLS sessions with the inbound (HAProxy's default). Off, every
   * connection makes a full mTLS handshake, as the agent does.
   */
  readonly sessionReuse: boolean
  readonly sni: string
}

function config(global: string[], body: string[]): string {
  return [
    'global',
    ...global.map((line) => `  ${line}`),
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    ...body,
    '',
  ].join('\n')
}

export function startHaproxyPair(options: HaproxyPairOptions) {
  const { dir, certificates: c, label } = options
  const global = [
    // Within the bench's 20,000 file descriptors (HAProxy asks for two per connection and more).
    'maxconn 4000',
    ...(options.threads === undefined ? [] : [`nbthread ${options.threads}`]),
  ]
  const inbound = join(dir, `${label}-inbound.cfg`)
  const outbound = join(dir, `${label}-outbound.cfg`)
  writeFileSync(
    inbound,
    config(global, [
      'frontend inbound',
      `  bind 127.0.0.1:${options.inboundPort} ssl crt ${c.leaves.backend.combinedPath} ca-file ${c.caPath} verify required alpn kuma`,
      '  default_backend app',
      'backend app',
      `  server app 127.0.0.1:${options.appPort}`,
    ])
  )
  writeFileSync(
    outbound,
    config(global, [
      'frontend outbound',
      `  bind 127.0.0.1:${options.outboundPort}`,
      '  default_backend upstream',
      'backend upstream',
      `  server backend 127.0.0.1:${options.inboundPort} ssl crt ${c.leaves.web.combinedPath} ca-file ${c.caPath} verify required alpn kuma sni str(${options.sni})${options.sessionReuse ? '' : ' no-ssl-reuse'}`,
    ])
  )
  // -db: in the foreground, no master process: the child is the proxy itself.
  return {
    inbound: start(`${label} inbound`, 'haproxy', ['-db', '-f', inbound]),
    outbound: start(`${label} outbound`, 'haproxy', ['-db', '-f', outbound]),
    global,
  }
}
