/**
 * Request bodies: JSON (what Kuma's API takes) or YAML (what `kumactl apply` files are), one document,
 * UTF-8. Every failure is a 4xx with the error body; messages give positions, never the text, which
 * may hold key material. Nesting, value counts and aliases are bounded before a parser runs
 * (REQUEST_BODY_BOUNDS); the byte size is bounded before the body is read (the app's body limit).
 */
import {
  checkJsonBounds,
  isMeshcaError,
  parseYamlDocuments,
  REQUEST_BODY_BOUNDS,
} from '@meshca/core-mtls'
import type { Context } from 'hono'
import type { AppEnv } from '../context.ts'
import { ApiProblem } from './api-problem.ts'

const JSON_TYPES = /^application\/(?:[\w.+-]+\+)?json$/
const YAML_TYPES = /^(?:application|text)\/(?:x-)?(?:[\w.+-]+\+)?yaml$/

export const SUPPORTED_MEDIA_TYPES = 'application/json or application/yaml'

type BodyFormat = 'json' | 'yaml'

export interface ReadBodyOptions {
  /** Accept YAML besides JSON; default true. The data plane API takes JSON only. */
  readonly yaml?: boolean
}

function bodyFormat(contentType: string | undefined, yaml: boolean): BodyFormat {
  // No content type claims nothing; JSON is what the API speaks.
  if (contentType === undefined || contentType.trim() === '') return 'json'
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? ''
  if (JSON_TYPES.test(mediaType)) return 'json'
  if (yaml && YAML_TYPES.test(mediaType)) return 'yaml'
  const supported = yaml ? SUPPORTED_MEDIA_TYPES : 'application/json'
  throw new ApiProblem(
    415,
    `Unsupported Media Type: ${JSON.stringify(mediaType)}; send ${supported}`
  )
}

const decoder = new TextDecoder('utf-8', { fatal: true })

/** The body of a PUT or POST as text. */
async function bodyText(c: Context<AppEnv>): Promise<string> {
  try {
    return decoder.decode(await c.req.arrayBuffer())
  } catch {
    throw new ApiProblem(400, 'request body is not valid UTF-8')
  }
}

/** The parsed body of a PUT or POST, as untyped JSON for the codecs to read. */
export async function readBody(
  c: Context<AppEnv>,
  options: ReadBodyOptions = {}
): Promise<unknown> {
  const body = await readOptionalBody(c, options)
  if (body === undefined) throw new ApiProblem(400, 'request body is empty')
  return body
}

/** `readBody`, or `undefined` for a request without a body. */
export async function readOptionalBody(
  c: Context<AppEnv>,
  options: ReadBodyOptions = {}
): Promise<unknown> {
  const format = bodyFormat(c.req.header('content-type'), options.yaml ?? true)
  const text = await bodyText(c)
  // Only to tell "no body": YAML's indentation and JSON's positions need the text as sent.
  if (text.trim() === '') return undefined
  return format === 'json' ? parseJson(text) : parseYaml(text)
}

function parseJson(text: string): unknown {
  try {
    checkJsonBounds(text, REQUEST_BODY_BOUNDS)
  } catch (error) {
    if (!isMeshcaError(error, 'INVALID')) throw error
    throw new ApiProblem(400, `request body is not valid JSON: ${reasonOf(error)}`)
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new ApiProblem(400, `request body is not valid JSON${jsonErrorPosition(text, error)}`)
  }
}

/**
 * Where JSON.parse stopped, as a line and column. The engine's own message is not passed on: V8
 * quotes the text around the error, and that text may be a private key.
 */
function jsonErrorPosition(text: string, error: unknown): string {
  const match = error instanceof Error ? /position (\d+)/.exec(error.message) : null
  if (!match) return ''
  const offset = Math.min(Number(match[1]), text.length)
  const before = text.slice(0, offset)
  const line = before.split('\n').length
  const column = offset - before.lastIndexOf('\n')
  return ` (line ${line}, column ${column})`
}

function parseYaml(text: string): unknown {
  let documents: unknown[]
  try {
    documents = parseYamlDocuments(text, REQUEST_BODY_BOUNDS)
  } catch (error) {
    if (!isMeshcaError(error, 'INVALID')) throw error
    throw new ApiProblem(400, `request body is not valid YAML: ${reasonOf(error)}`)
  }
  if (documents.length !== 1) {
    throw new ApiProblem(
      400,
      `request body must hold one resource, not ${documents.length} YAML documents`
    )
  }
  return documents[0]
}

function reasonOf(error: {
  readonly message: string
  readonly violations: readonly { message: string }[]
}) {
  return error.violations[0]?.message ?? error.message
}
