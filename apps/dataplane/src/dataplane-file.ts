/**
 * The Dataplane an agent serves, from `--dataplane-file` as kuma-dp reads it: a Universal resource
 * in YAML (or JSON), a template where `{{ key }}` takes the value of `--dataplane-var key=value`.
 * Checked here with the control plane's own rules, so that a typo stops the agent at once.
 */
import { readFile, stat } from 'node:fs/promises'
import {
  type DataplaneSpec,
  decodeResource,
  type JsonObject,
  MeshcaError,
  parseYamlDocuments,
  validateResource,
  validationError,
} from '@meshca/core-mtls'

/** A Dataplane resource is at most 1 MiB in the store; its file may not be larger. */
export const MAX_DATAPLANE_FILE_BYTES = 1024 * 1024

export interface DataplaneFile {
  readonly mesh: string
  readonly name: string
  readonly spec: DataplaneSpec
  /** The resource as sent to the control plane to register (Universal form). */
  readonly json: JsonObject
}

const PLACEHOLDER = /\{\{\s*\.?([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g

export function applyTemplate(text: string, vars: Readonly<Record<string, string>>): string {
  const missing = new Set<string>()
  const result = text.replace(PLACEHOLDER, (_, key: string) => {
    if (!Object.hasOwn(vars, key)) {
      missing.add(key)
      return ''
    }
    return vars[key] ?? ''
  })
  if (missing.size > 0) {
    const names = [...missing].map((k) => `${k}=…`).join(', --dataplane-var ')
    throw new MeshcaError('INVALID', `the Dataplane template needs --dataplane-var ${names}`)
  }
  return result
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Fills `name` and `mesh` from the flags when the file leaves them out; a conflict is an error. */
function withIdentity(doc: Record<string, unknown>, flags: { name?: string; mesh?: string }) {
  const result: Record<string, unknown> = { ...doc }
  for (const key of ['name', 'mesh'] as const) {
    const flag = flags[key]
    if (flag === undefined) continue
    if (result[key] === undefined || result[key] === '') result[key] = flag
    else if (result[key] !== flag) {
      throw validationError([
        {
          field: key,
          message: `is ${JSON.stringify(result[key])} in the file but --${key} says ${JSON.stringify(flag)}`,
        },
      ])
    }
  }
  result.mesh ??= 'default'
  return result
}

export function parseDataplane(
  text: string,
  vars: Readonly<Record<string, string>>,
  flags: { name?: string; mesh?: string }
): DataplaneFile {
  const documents = parseYamlDocuments(applyTemplate(text, vars))
  if (documents.length !== 1 || !isObject(documents[0])) {
    throw validationError([
      { field: '', message: 'the Dataplane file must hold one Dataplane resource' },
    ])
  }
  const doc = withIdentity(documents[0], flags)
  const resource = decodeResource(doc)
  if (resource.type !== 'Dataplane') {
    throw validationError([{ field: 'type', message: `must be Dataplane, not ${resource.type}` }])
  }
  const violations = validateResource(resource)
  if (violations.length > 0) throw validationError(violations)
  return { mesh: resource.mesh, name: resource.name, spec: resource.spec, json: doc as JsonObject }
}

export async function readDataplaneFile(
  path: string,
  vars: Readonly<Record<string, string>>,
  flags: { name?: string; mesh?: string }
): Promise<DataplaneFile> {
  const info = await stat(path)
  if (!info.isFile()) throw new MeshcaError('INVALID', `--dataplane-file ${path} is not a file`)
  if (info.size > MAX_DATAPLANE_FILE_BYTES) {
    throw new MeshcaError(
      'INVALID',
      `--dataplane-file ${path} is larger than ${MAX_DATAPLANE_FILE_BYTES} bytes`
    )
  }
  return parseDataplane(await readFile(path, 'utf8'), vars, flags)
}
