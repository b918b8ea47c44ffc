import { MeshcaError } from '@meshca/core-mtls'

/**
 * `kumactl apply --var key=value`: each document is a mustache template. Dotted keys address nested
 * values (`--var a.b=1` fills `{{ a.b }}`); a placeholder without a value is an error rather than
 * an empty string, so a typo cannot silently blank a CA reference.
 */
export function parseVars(pairs: readonly string[]): Map<string, string> {
  const vars = new Map<string, string>()
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq <= 0) {
      throw new MeshcaError('INVALID', `--var must be key=value, got "${pair}"`, { path: 'var' })
    }
    vars.set(pair.slice(0, eq), pair.slice(eq + 1))
  }
  return vars
}

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g

export function renderTemplate(text: string, vars: ReadonlyMap<string, string>): string {
  const missing = new Set<string>()
  const rendered = text.replace(PLACEHOLDER, (_match, key: string) => {
    const value = vars.get(key)
    if (value === undefined) {
      missing.add(key)
      return ''
    }
    return value
  })
  if (missing.size > 0) {
    throw new MeshcaError(
      'INVALID',
      `no value for template variable(s): ${[...missing].join(', ')}`,
      {
        path: 'var',
      }
    )
  }
  return rendered
}
