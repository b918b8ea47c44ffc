import {
  type AnyResource,
  decodeResource,
  encodeUniversal,
  formatViolations,
  isMeshcaError,
  parseYamlDocuments,
  validateResource,
} from '@meshca/core-mtls'
import { stringify } from 'yaml'
import { CliError, expectOk } from '../client.ts'
import type { CommandContext } from '../io.ts'
import { resourcePath } from '../resource-kinds.ts'
import { parseVars, renderTemplate } from '../template.ts'
import { printWarnings } from '../warnings.ts'

export interface ApplyOptions {
  readonly file: string | undefined
  readonly vars: readonly string[]
  readonly dryRun: boolean
}

async function readInput(ctx: CommandContext, file: string): Promise<string> {
  if (file === '-') return ctx.readStdin()
  if (/^https?:\/\//.test(file)) {
    let response: Response
    try {
      response = await fetch(file, { signal: AbortSignal.timeout(10_000) })
    } catch (error) {
      throw new CliError(`error while retrieving URL: ${(error as Error).message}`)
    }
    if (response.status !== 200)
      throw new CliError(`error while retrieving URL: HTTP ${response.status}`)
    return response.text()
  }
  try {
    return await ctx.readFile(file)
  } catch (error) {
    throw new CliError(`error while reading provided file: ${(error as Error).message}`)
  }
}

/** Rendered, parsed and validated documents, in order: nothing is sent unless all are valid. */
export function resourcesFromText(text: string, vars: ReadonlyMap<string, string>): AnyResource[] {
  try {
    const documents = parseYamlDocuments(renderTemplate(text, vars))
    if (documents.length === 0) throw new CliError('no resource(s) passed to apply')
    return documents.map((document, index) => {
      try {
        const resource = decodeResource(document)
        const violations = validateResource(resource)
        if (violations.length > 0) {
          throw new CliError(`YAML contains invalid resource: ${formatViolations(violations)}`, {
            causes: violations,
          })
        }
        return resource
      } catch (error) {
        if (isMeshcaError(error)) {
          throw new CliError(
            `YAML contains invalid resource${documents.length > 1 ? ` (document ${index + 1})` : ''}: ${error.message}`,
            { causes: error.violations }
          )
        }
        throw error
      }
    })
  } catch (error) {
    if (isMeshcaError(error)) throw new CliError(error.message, { causes: error.violations })
    throw error
  }
}

/** `meshca apply -f FILE|-`: upserts each document in order, stopping at the first error. */
export async function apply(ctx: CommandContext, options: ApplyOptions): Promise<void> {
  if (!options.file) throw new CliError('required flag(s) "file" not set')
  const text = await readInput(ctx, options.file)
  const resources = resourcesFromText(text, parseVars(options.vars))
  if (options.dryRun) {
    for (const resource of resources) ctx.stdout(`---\n${stringify(encodeUniversal(resource))}`)
    return
  }
  const client = await ctx.client()
  for (const resource of resources) {
    const path = resourcePath(resource.type, resource.mesh, resource.name)
    const response = await expectOk(client.request('PUT', path, encodeUniversal(resource)))
    const verb = response.status === 201 ? 'created' : 'updated'
    const where = resource.mesh ? ` in mesh "${resource.mesh}"` : ''
    ctx.stdout(`${resource.type} "${resource.name}"${where} ${verb}\n`)
    printWarnings(ctx, response)
  }
}
