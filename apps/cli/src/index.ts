/**
 * @module
 * The `meshca` command line, for embedding (`runCli`) and as the `meshca` bin.
 */
export { type ApiClient, CliError, createApiClient, errorFromResponse } from './client.ts'
export { DEFAULT_API_URL, resolveConnection } from './config.ts'
export type { CliIo } from './io.ts'
export { main, runCli, USAGE } from './main.ts'
export { formatAge, formatTable } from './table.ts'
