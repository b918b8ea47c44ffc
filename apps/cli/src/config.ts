import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { CliError } from './client.ts'

export const DEFAULT_API_URL = 'http://127.0.0.1:5681'

export interface Connection {
  readonly apiUrl: string
  readonly token?: string
  /** Where the values came from, for error messages. */
  readonly source: string
}

export function defaultConfigPath(env: NodeJS.ProcessEnv): string {
  return env.MESHCA_CONFIG ?? join(env.HOME ?? homedir(), '.meshca', 'config.yaml')
}

interface ConfigFile {
  apiUrl?: string
  token?: string
}

async function readConfigFile(path: string): Promise<ConfigFile | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new CliError(`cannot read config file ${path}: ${(error as Error).message}`)
  }
  let value: unknown
  try {
    value = parse(text)
  } catch (error) {
    throw new CliError(`config file ${path} is not valid YAML: ${(error as Error).message}`)
  }
  if (value === null || value === undefined) return {}
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new CliError(`config file ${path} must be a mapping with apiUrl and token`)
  }
  const { apiUrl, token } = value as Record<string, unknown>
  if (apiUrl !== undefined && typeof apiUrl !== 'string') {
    throw new CliError(`config file ${path}: apiUrl must be a string`)
  }
  if (token !== undefined && typeof token !== 'string') {
    throw new CliError(`config file ${path}: token must be a string`)
  }
  return { ...(apiUrl ? { apiUrl } : {}), ...(token ? { token } : {}) }
}

/** Flags win over the environment, which wins over the config file; the default is local. */
export async function resolveConnection(
  flags: { apiUrl?: string | undefined; token?: string | undefined; config?: string | undefined },
  env: NodeJS.ProcessEnv
): Promise<Connection> {
  const path = flags.config ?? defaultConfigPath(env)
  const file = await readConfigFile(path)
  const apiUrl = flags.apiUrl ?? env.MESHCA_API_URL ?? file?.apiUrl ?? DEFAULT_API_URL
  const token = flags.token ?? env.MESHCA_TOKEN ?? file?.token
  try {
    new URL(apiUrl)
  } catch {
    throw new CliError(`--api-url: "${apiUrl}" is not a URL`)
  }
  return { apiUrl, ...(token ? { token } : {}), source: file ? path : 'flags and environment' }
}
