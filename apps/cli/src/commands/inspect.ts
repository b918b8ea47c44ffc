import { CliError, expectOk } from '../client.ts'
import type { CommandContext } from '../io.ts'
import { formatAgo, formatDate, formatTable } from '../table.ts'
import {
  dataplaneTagMaps,
  formatTags,
  type OutputFormat,
  offsetOf,
  paginationQuery,
  printDocument,
} from './get.ts'

export interface InspectOptions {
  readonly kind: string | undefined
  readonly mesh: string
  readonly tags: readonly string[]
  readonly gateway: boolean
  readonly output: OutputFormat
  readonly size: string | undefined
  readonly offset: string | undefined
}

type Json = Record<string, unknown>
const obj = (v: unknown): Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {}
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])
const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v) || 0)

export const INSPECT_DATAPLANES_HEADER = [
  'MESH',
  'NAME',
  'TAGS',
  'STATUS',
  'LAST CONNECTED AGO',
  'LAST UPDATED AGO',
  'TOTAL UPDATES',
  'TOTAL ERRORS',
  'CERT REGENERATED AGO',
  'CERT EXPIRATION',
  'CERT REGENERATIONS',
  'CERT BACKEND',
  'SUPPORTED CERT BACKENDS',
  'KUMA-DP VERSION',
  'ENVOY VERSION',
  'DEPENDENCIES VERSIONS',
  'NOTES',
]

/** One row of `inspect dataplanes` from a DataplaneOverview (docs/kuma-compatibility.md §8.1). */
export function inspectRow(overview: unknown, now: Date): string[] {
  const item = obj(overview)
  const dataplane = obj(item.dataplane)
  const insight = obj(item.dataplaneInsight)
  const subscriptions = list(insight.subscriptions).map(obj)
  const last = subscriptions.at(-1)
  const online = last !== undefined && str(last.connectTime) !== '' && !last.disconnectTime
  const inbounds = list(obj(dataplane.networking).inbound).map(obj)
  const notReady = inbounds.filter((i) => obj(i.health).ready === false)
  const status = !online ? 'Offline' : notReady.length > 0 ? 'Partially degraded' : 'Online'
  const totals = subscriptions.map((s) => obj(obj(s.status).total))
  const mtls = obj(insight.mTLS)
  const version = obj(last?.version)
  const dependencies = Object.entries(obj(version.dependencies))
    .map(([k, v]) => `${k}: ${str(v)}`)
    .join(', ')
  const notes = notReady
    .map(
      (i) => `inbound[port=${num(i.port)},svc=${str(obj(i.tags)['kuma.io/service'])}] is not ready`
    )
    .join(';')
  return [
    str(item.mesh),
    str(item.name),
    formatTags(dataplaneTagMaps(dataplane)),
    status,
    formatAgo(str(last?.connectTime) || undefined, now),
    formatAgo(str(obj(last?.status).lastUpdateTime) || undefined, now),
    String(totals.reduce((n, t) => n + num(t.responsesSent), 0)),
    String(totals.reduce((n, t) => n + num(t.responsesRejected), 0)),
    formatAgo(str(mtls.lastCertificateRegeneration) || undefined, now),
    formatDate(str(mtls.certificateExpirationTime) || undefined),
    String(num(mtls.certificateRegenerations)),
    str(mtls.issuedBackend) || '-',
    list(mtls.supportedBackends).map(str).join(','),
    str(obj(version.kumaDp).version) || '-',
    str(obj(version.envoy).version) || '-',
    dependencies || '-',
    notes,
  ]
}

/** `meshca inspect dataplanes`: data planes with their connection and certificate state. */
export async function inspect(ctx: CommandContext, options: InspectOptions): Promise<void> {
  if (options.kind !== 'dataplanes') {
    throw new CliError(`inspect supports "dataplanes", not "${options.kind ?? ''}"`)
  }
  for (const tag of options.tags) {
    if (!/^[^=]+=.*$/.test(tag)) throw new CliError(`--tag must be key=value, got "${tag}"`)
  }
  const query = new URLSearchParams(paginationQuery(options.size, options.offset).slice(1))
  for (const tag of options.tags) query.append('tag', tag.replace('=', ':'))
  if (options.gateway) query.set('gateway', 'true')
  const path = `/meshes/${encodeURIComponent(options.mesh)}/dataplanes+insights${query.size ? `?${query}` : ''}`
  const client = await ctx.client()
  const page = obj((await expectOk(client.request('GET', path))).body)
  if (options.output !== 'table') {
    printDocument(ctx, options.output, page)
    return
  }
  const now = ctx.now()
  ctx.stdout(
    formatTable(
      INSPECT_DATAPLANES_HEADER,
      list(page.items).map((i) => inspectRow(i, now))
    )
  )
  const next = offsetOf(page.next)
  if (next !== undefined) {
    ctx.stdout(`\nRerun command with --offset=${next} argument to retrieve more resources\n`)
  }
}
