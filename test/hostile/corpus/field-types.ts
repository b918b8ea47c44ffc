/**
 * Wrong JSON types and hostile values in every field: each route's valid body is walked, and every
 * field (object, list, item or scalar, at any depth) is replaced by values drawn from
 * HOSTILE_VALUES, removed, or given an unknown sibling.
 */
import { BODY_ROUTES, type BodyRoute, callerFor, targetName } from './body-routes.ts'
import { HOSTILE_VALUES } from './hostile-values.ts'
import { type CorpusContext, describe, type Probe, withCredentials } from './probe.ts'

type Path = readonly (string | number)[]

/** Every field of `value` below the root, parents before children. */
function fieldPaths(value: unknown, prefix: Path = []): Path[] {
  if (Array.isArray(value)) {
    return value.flatMap((item, i) => [[...prefix, i], ...fieldPaths(item, [...prefix, i])])
  }
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => [
      [...prefix, key],
      ...fieldPaths(item, [...prefix, key]),
    ])
  }
  return []
}

type Edit = { readonly set: unknown } | { readonly remove: true } | { readonly unknownKey: true }

/** A copy of `root` with the field at `path` edited. */
function edited(root: unknown, path: Path, edit: Edit): unknown {
  const copy = structuredClone(root) as Record<string | number, unknown>
  let parent: Record<string | number, unknown> = copy
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>
  const last = path.at(-1)
  if ('unknownKey' in edit) {
    const target = (last === undefined ? copy : parent[last]) as Record<string, unknown>
    target['x-unknown-field'] = { nested: [1, 'two'] }
  } else if (last === undefined) {
    return copy
  } else if ('remove' in edit) {
    if (Array.isArray(parent)) parent.splice(Number(last), 1)
    else delete parent[last]
  } else {
    parent[last] = edit.set
  }
  return copy
}

function isObjectAt(root: unknown, path: Path): boolean {
  let value: unknown = root
  for (const key of path) value = (value as Record<string | number, unknown>)[key]
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The identity of a resource is in its URL: a body that names another is always refused. */
function mustRefuse(route: BodyRoute, path: Path, edit: Edit): boolean {
  const resource = route.method === 'PUT'
  return (
    resource &&
    path.length === 1 &&
    ['type', 'name', 'mesh'].includes(String(path[0])) &&
    !('unknownKey' in edit)
  )
}

function editsFor(route: BodyRoute, context: CorpusContext): { path: Path; edit: Edit }[] {
  const sample = route.base('sample', context)
  const edits: { path: Path; edit: Edit }[] = []
  for (const path of fieldPaths(sample)) {
    for (const value of context.random.sample(HOSTILE_VALUES, 2))
      edits.push({ path, edit: { set: value } })
    edits.push({ path, edit: { remove: true } })
    if (isObjectAt(sample, path)) edits.push({ path, edit: { unknownKey: true } })
  }
  edits.push({ path: [], edit: { unknownKey: true } })
  return edits
}

function editLabel(path: Path, edit: Edit): string {
  const where = path.length === 0 ? '(root)' : path.join('.')
  if ('remove' in edit) return `${where} removed`
  if ('unknownKey' in edit) return `${where} + unknown field`
  return `${where} = ${describe(edit.set)}`
}

export function fieldTypeProbes(context: CorpusContext): Probe[] {
  const probes: Probe[] = []
  for (const route of BODY_ROUTES) {
    for (const { path, edit } of editsFor(route, context)) {
      const name = targetName(route, context)
      const body = edited(route.base(name, context), path, edit)
      const { who, anonymous } = callerFor(route, context)
      // JSON is YAML too: a third of the probes go as YAML, through the other parser.
      const yaml = route.yaml && context.random.chance(1 / 3)
      probes.push({
        family: 'field types',
        label: `${route.method} ${route.path(name)} ${yaml ? 'yaml' : 'json'}: ${editLabel(path, edit)}`,
        who,
        request: {
          method: route.method,
          target: route.path(name),
          headers: withCredentials(context.tokens, who, {
            'content-type': yaml ? 'application/yaml' : 'application/json',
          }),
          body: { kind: 'bytes', data: Buffer.from(JSON.stringify(body)) },
        },
        expect: anonymous ?? { refused: mustRefuse(route, path, edit) },
      })
    }
  }
  return probes
}
