/**
 * The `meshca` command: kumactl's verbs against a meshca control plane.
 * Exit codes: 0 success, 1 a failure the command reports, 2 a usage error.
 */
import { readFile, rename, writeFile } from 'node:fs/promises'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { type ApiClient, CliError, createApiClient } from './client.ts'
import { apply } from './commands/apply.ts'
import { deleteResource } from './commands/delete.ts'
import { generateDataplaneToken } from './commands/generate.ts'
import { get, type OutputFormat } from './commands/get.ts'
import { inspect } from './commands/inspect.ts'
import { revokeUserToken, rotateAdminToken } from './commands/user-tokens.ts'
import { resolveConnection } from './config.ts'
import type { CliIo, CommandContext } from './io.ts'

export const USAGE = `Usage: meshca <command> [flags]

Commands:
  apply -f FILE|-                 create or update resources (Universal or Kubernetes YAML, several documents)
        [--var key=value]...      fill {{ key }} placeholders
        [--dry-run]               print the rendered resources, do not contact the control plane
  get KIND [NAME] [-m MESH]       KIND: meshes, secrets, dataplanes, traffic-permissions
        [-o table|yaml|json] [--size N] [--offset X]
  inspect dataplanes [-m MESH] [--tag key=value]... [--gateway] [-o table|yaml|json]
  delete KIND NAME [-m MESH]
  generate dataplane-token --mesh MESH [--name NAME] [--tag key=value]... [--valid-for 24h]
  revoke user-token TOKEN | --id ID | --token-file FILE
                                  the token is refused by every control plane instance from then on
  rotate admin-token [--data-dir DIR]
                                  replace DIR/admin-token (default ./.meshca) and revoke the old one

Connection (flags, else MESHCA_API_URL / MESHCA_TOKEN, else the config file):
  --api-url URL                   default http://127.0.0.1:5681
  --token TOKEN                   a user token (requests from localhost are admin by default)
  --config FILE                   default ~/.meshca/config.yaml (MESHCA_CONFIG): "apiUrl: …" and "token: …"
`

const OPTIONS = {
  file: { type: 'string', short: 'f' },
  var: { type: 'string', short: 'v', multiple: true },
  'dry-run': { type: 'boolean' },
  mesh: { type: 'string', short: 'm' },
  output: { type: 'string', short: 'o' },
  size: { type: 'string' },
  offset: { type: 'string' },
  tag: { type: 'string', multiple: true },
  gateway: { type: 'boolean' },
  name: { type: 'string' },
  'valid-for': { type: 'string' },
  id: { type: 'string' },
  'token-file': { type: 'string' },
  'data-dir': { type: 'string' },
  'api-url': { type: 'string' },
  token: { type: 'string' },
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

function outputFormat(value: string | undefined): OutputFormat {
  const format = value ?? 'table'
  if (format === 'table' || format === 'yaml' || format === 'json') return format
  throw new CliError(`-o/--output: must be one of table, yaml, json; got "${format}"`)
}

export async function runCli(
  argv: readonly string[],
  io: CliIo,
  env: NodeJS.ProcessEnv,
  fetchImpl?: typeof fetch
): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true })
  } catch (error) {
    io.stderr(`Error: ${(error as Error).message}\n\n${USAGE}`)
    return 2
  }
  const { values, positionals } = parsed
  const [command, kind, name] = positionals
  if (values.help || command === undefined || command === 'help') {
    io.stdout(USAGE)
    return command === undefined && !values.help ? 2 : 0
  }
  const clients = new Map<string | undefined, ApiClient>()
  const ctx: CommandContext = {
    ...io,
    client: async (tokenOverride) => {
      let client = clients.get(tokenOverride)
      if (!client) {
        const connection = await resolveConnection(
          { apiUrl: values['api-url'], token: values.token, config: values.config },
          env
        )
        const token = tokenOverride ?? connection.token
        client = createApiClient({
          baseUrl: connection.apiUrl,
          ...(token ? { token } : {}),
          ...(fetchImpl ? { fetch: fetchImpl } : {}),
        })
        clients.set(tokenOverride, client)
      }
      return client
    },
  }
  try {
    if (!(await runCommand(ctx, command, kind, name, values))) {
      io.stderr(`Error: unknown command "${command}"\n\n${USAGE}`)
      return 2
    }
    return 0
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr(`Error: ${error.message}\n`)
      for (const cause of error.causes) {
        io.stderr(`  * ${cause.field ? `${cause.field}: ` : ''}${cause.message}\n`)
      }
      return 1
    }
    throw error
  }
}

type ParsedValues = ReturnType<
  typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>
>['values']

/** Runs one command; `false` when there is no such command. */
async function runCommand(
  ctx: CommandContext,
  command: string,
  kind: string | undefined,
  name: string | undefined,
  values: ParsedValues
): Promise<boolean> {
  const mesh = values.mesh ?? 'default'
  switch (command) {
    case 'apply':
      await apply(ctx, {
        file: values.file,
        vars: values.var ?? [],
        dryRun: values['dry-run'] ?? false,
      })
      break
    case 'get':
      await get(ctx, {
        kind,
        name,
        mesh,
        output: outputFormat(values.output),
        size: values.size,
        offset: values.offset,
      })
      break
    case 'inspect':
      await inspect(ctx, {
        kind,
        mesh,
        tags: values.tag ?? [],
        gateway: values.gateway ?? false,
        output: outputFormat(values.output),
        size: values.size,
        offset: values.offset,
      })
      break
    case 'delete':
      await deleteResource(ctx, { kind, name, mesh })
      break
    case 'generate':
      if (kind !== 'dataplane-token')
        throw new CliError(`generate supports "dataplane-token", not "${kind ?? ''}"`)
      await generateDataplaneToken(ctx, {
        name: values.name,
        mesh,
        tags: values.tag ?? [],
        validFor: values['valid-for'],
      })
      break
    case 'revoke':
      if (kind !== 'user-token')
        throw new CliError(`revoke supports "user-token", not "${kind ?? ''}"`)
      await revokeUserToken(ctx, { token: name, id: values.id, tokenFile: values['token-file'] })
      break
    case 'rotate':
      if (kind !== 'admin-token')
        throw new CliError(`rotate supports "admin-token", not "${kind ?? ''}"`)
      await rotateAdminToken(ctx, {
        dataDir: values['data-dir'] ?? '.meshca',
        token: values.token,
      })
      break
    default:
      return false
  }
  return true
}

export function main(argv: readonly string[]): Promise<number> {
  return runCli(
    argv,
    {
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
      readStdin: async () => {
        const chunks: Buffer[] = []
        for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
        return Buffer.concat(chunks).toString('utf8')
      },
      readFile: (path) => readFile(path, 'utf8'),
      writeSecretFile: async (path, text) => {
        const temporary = `${path}.${process.pid}.tmp`
        await writeFile(temporary, text, { mode: 0o600 })
        await rename(temporary, path)
      },
      now: () => new Date(),
    },
    process.env
  )
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2))
}
