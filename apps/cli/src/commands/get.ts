import type { ResourceType } from '@meshca/core-mtls'
import { stringify } from 'yaml'
import { CliError, expectOk } from '../client.ts'
import type { CommandContext } from '../io.ts'
import { KIND_NAMES, resourcePath, resourceTypeOf } from '../resource-kinds.ts'
import { formatAgo, formatTable } from '../table.ts'

export type OutputFormat = 'table' | 'yaml' | 'json'

export interface GetOptions {
  readonly kind: string | undefined
  readonly name: string | undefined
  readonly mesh: string
  readonly output: OutputFormat
  readonly size: string | undefined
  readonly offset: string | undefined
}

type Json = Record<string, unknown>

function obj(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {}
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : []
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : ''
}

function backendNames(section: unknown): string[] {
  return list(obj(section).backends).map((b) => `${str(obj(b).type)}/${str(obj(b).name)}`)
}

function enabledOf(section: unknown): string {
  const { enabledBackend, backends } = obj(section)
  const enabled = list(backends).find((b) => str(obj(b).name) === enabledBackend)
  return enabled ? `${str(obj(enabled).type)}/${str(obj(enabled).name)}` : 'off'
}

/** `kumactl`'s `TagSet().String()`: sorted keys, values joined by commas, pairs by spaces. */
export function formatTags(tagMaps: readonly unknown[]): string {
  const sets = new Map<string, Set<string>>()
  for (const tags of tagMaps) {
    for (const [k, v] of Object.entries(obj(tags))) {
      if (typeof v !== 'string') continue
      const values = sets.get(k) ?? new Set<string>()
      values.add(v)
      sets.set(k, values)
    }
  }
  return [...sets.keys()]
    .sort()
    .map((k) => `${k}=${[...(sets.get(k) ?? [])].sort().join(',')}`)
    .join(' ')
}

export function dataplaneTagMaps(dataplane: unknown): unknown[] {
  const networking = obj(obj(dataplane).networking)
  const maps = list(networking.inbound).map((i) => obj(i).tags)
  if (networking.gateway) maps.push(obj(networking.gateway).tags)
  return maps
}

export function tableFor(type: ResourceType, items: readonly unknown[], now: Date): string {
  const age = (item: Json) => formatAgo(str(item.modificationTime) || undefined, now)
  switch (type) {
    case 'Mesh':
      return formatTable(
        ['NAME', 'mTLS', 'METRICS', 'LOGGING', 'TRACING', 'LOCALITY', 'ZONEEGRESS', 'AGE'],
        items.map(obj).map((m) => {
          const routing = obj(m.routing)
          const joined = (section: unknown) => backendNames(section).join(', ') || 'off'
          return [
            str(m.name),
            enabledOf(m.mtls),
            enabledOf(m.metrics),
            joined(m.logging),
            joined(m.tracing),
            routing.localityAwareLoadBalancing === true ? 'on' : 'off',
            routing.zoneEgress === true ? 'on' : 'off',
            age(m),
          ]
        })
      )
    case 'Dataplane':
      return formatTable(
        ['MESH', 'NAME', 'TAGS', 'ADDRESS', 'AGE'],
        items
          .map(obj)
          .map((d) => [
            str(d.mesh),
            str(d.name),
            formatTags(dataplaneTagMaps(d)),
            str(obj(d.networking).address),
            age(d),
          ])
      )
    default:
      return formatTable(
        ['MESH', 'NAME', 'AGE'],
        items.map(obj).map((r) => [str(r.mesh), str(r.name), age(r)])
      )
  }
}

export function offsetOf(next: unknown): string | undefined {
  if (typeof next !== 'string' || next === '') return undefined
  try {
    return new URL(next).searchParams.get('offset') ?? undefined
  } catch {
    return undefined
  }
}

export function paginationQuery(size: string | undefined, offset: string | undefined): string {
  const params = new URLSearchParams()
  if (size !== undefined) params.set('size', size)
  if (offset !== undefined) params.set('offset', offset)
  const query = params.toString()
  return query ? `?${query}` : ''
}

export function printDocument(ctx: CommandContext, format: OutputFormat, body: unknown): void {
  ctx.stdout(format === 'json' ? `${JSON.stringify(body, null, 2)}\n` : stringify(body))
}

/** `meshca get meshes|secrets|dataplanes|traffic-permissions [NAME]`. */
export async function get(ctx: CommandContext, options: GetOptions): Promise<void> {
  if (!options.kind) {
    throw new CliError(`get needs a resource kind: ${KIND_NAMES.join(', ')}`)
  }
  const type = resourceTypeOf(options.kind)
  if (!type) {
    throw new CliError(
      `unknown resource kind "${options.kind}"; use one of ${KIND_NAMES.join(', ')}`
    )
  }
  const client = await ctx.client()
  if (options.name !== undefined) {
    const response = await expectOk(
      client.request('GET', resourcePath(type, options.mesh, options.name))
    )
    if (options.output === 'table') ctx.stdout(tableFor(type, [response.body], ctx.now()))
    else printDocument(ctx, options.output, response.body)
    return
  }
  const path = resourcePath(type, options.mesh) + paginationQuery(options.size, options.offset)
  const response = await expectOk(client.request('GET', path))
  const page = obj(response.body)
  if (options.output !== 'table') {
    printDocument(ctx, options.output, page)
    return
  }
  ctx.stdout(tableFor(type, list(page.items), ctx.now()))
  const next = offsetOf(page.next)
  if (next !== undefined) {
    ctx.stdout(`\nRerun command with --offset=${next} argument to retrieve more resources\n`)
  }
}
