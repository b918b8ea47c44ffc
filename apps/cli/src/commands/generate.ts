import { CliError, expectOk } from '../client.ts'
import type { CommandContext } from '../io.ts'

export interface DataplaneTokenOptions {
  readonly name: string | undefined
  readonly mesh: string
  readonly tags: readonly string[]
  readonly validFor: string | undefined
}

/** `--tag k=v` repeated, or `k=v1,v2`, into Kuma's `{k: [v…]}`. */
export function tagsFromFlags(flags: readonly string[]): Record<string, string[]> {
  const tags: Record<string, string[]> = {}
  for (const flag of flags) {
    const eq = flag.indexOf('=')
    if (eq <= 0) throw new CliError(`--tag must be key=value, got "${flag}"`)
    const values = flag
      .slice(eq + 1)
      .split(',')
      .filter((v) => v !== '')
    tags[flag.slice(0, eq)] = [...(tags[flag.slice(0, eq)] ?? []), ...values]
  }
  return tags
}

/** `meshca generate dataplane-token`: prints the JWT a data plane presents to the control plane. */
export async function generateDataplaneToken(
  ctx: CommandContext,
  options: DataplaneTokenOptions
): Promise<void> {
  const body = {
    ...(options.name ? { name: options.name } : {}),
    mesh: options.mesh,
    tags: tagsFromFlags(options.tags),
    ...(options.validFor ? { validFor: options.validFor } : {}),
  }
  const client = await ctx.client()
  const response = await expectOk(client.request('POST', '/tokens/dataplane', body))
  ctx.stdout(`${response.text.trim()}\n`)
}
