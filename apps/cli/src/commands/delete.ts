import { CliError, expectOk } from '../client.ts'
import type { CommandContext } from '../io.ts'
import { KIND_NAMES, resourcePath, resourceTypeOf } from '../resource-kinds.ts'

/** `meshca delete TYPE NAME [-m MESH]`. */
export async function deleteResource(
  ctx: CommandContext,
  options: { kind: string | undefined; name: string | undefined; mesh: string }
): Promise<void> {
  const type = options.kind ? resourceTypeOf(options.kind) : undefined
  if (!type) throw new CliError(`delete needs a resource kind: ${KIND_NAMES.join(', ')}`)
  if (!options.name) throw new CliError('delete needs the name of the resource')
  const client = await ctx.client()
  await expectOk(client.request('DELETE', resourcePath(type, options.mesh, options.name)))
  const where = type === 'Mesh' ? '' : ` from mesh "${options.mesh}"`
  ctx.stdout(`deleted ${type} "${options.name}"${where}\n`)
}
