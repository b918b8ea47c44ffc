import type { ApiResponse } from './client.ts'
import type { CliIo } from './io.ts'

/** The header the API puts decision-5 warnings in: a JSON list of `{field, message}`. */
export const WARNINGS_HEADER = 'x-meshca-warnings'

export function printWarnings(io: CliIo, response: ApiResponse): void {
  const header = response.headers.get(WARNINGS_HEADER)
  if (!header) return
  let warnings: unknown
  try {
    warnings = JSON.parse(header)
  } catch {
    io.stderr(`Warning: ${header}\n`)
    return
  }
  if (!Array.isArray(warnings)) return
  for (const w of warnings) {
    if (typeof w === 'object' && w !== null) {
      const { field, message } = w as { field?: unknown; message?: unknown }
      io.stderr(`Warning: ${field ? `${String(field)}: ` : ''}${String(message)}\n`)
    }
  }
}
