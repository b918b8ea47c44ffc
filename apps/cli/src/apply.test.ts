import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { CliError } from './client.ts'
import { resourcesFromText } from './commands/apply.ts'
import { runCli } from './main.ts'
import { parseVars, renderTemplate } from './template.ts'

const examples =
  process.env.MESHCA_EXAMPLES_DIR ??
  fileURLToPath(new URL('../../../docs/examples', import.meta.url))

function io(stdin = '') {
  const out: string[] = []
  const err: string[] = []
  return {
    out,
    err,
    io: {
      stdout: (t: string) => void out.push(t),
      stderr: (t: string) => void err.push(t),
      readStdin: async () => stdin,
      readFile: async (path: string) => readFileSync(path, 'utf8'),
      writeSecretFile: async (path: string, text: string) =>
        writeFileSync(path, text, { mode: 0o600 }),
      now: () => new Date(),
    },
  }
}

describe('apply documents', () => {
  it('reads every brief example, in both forms', () => {
    const files = readdirSync(examples).filter((f) => f.endsWith('.yaml'))
    expect(files.length).toBeGreaterThanOrEqual(7)
    for (const file of files) {
      const [resource] = resourcesFromText(readFileSync(join(examples, file), 'utf8'), new Map())
      expect(resource?.type).toBe('Mesh')
      expect(resource?.name).toBe('default')
    }
  })

  it('validates on the client with Kuma’s prefix and field paths', () => {
    const text = 'type: Mesh\nname: default\nmtls:\n  enabledBackend: nope\n  backends: []\n'
    const error = (() => {
      try {
        resourcesFromText(text, new Map())
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(CliError)
    expect((error as CliError).message).toBe(
      'YAML contains invalid resource: mtls.enabledBackend: has to be set to one of the backends in the mesh'
    )
    expect((error as CliError).causes).toEqual([
      { field: 'mtls.enabledBackend', message: 'has to be set to one of the backends in the mesh' },
    ])
  })

  it('renders --var placeholders, dotted keys included, and refuses missing ones', () => {
    const vars = parseVars(['name=web', 'ca.secret=my-ca'])
    expect(renderTemplate('{{ name }}/{{ca.secret}}', vars)).toBe('web/my-ca')
    expect(() => renderTemplate('{{ other }}', vars)).toThrow(
      /no value for template variable\(s\): other/
    )
    expect(() => parseVars(['novalue'])).toThrow(/--var must be key=value/)
  })

  it('refuses empty input like kumactl', () => {
    expect(() => resourcesFromText('# nothing\n', new Map())).toThrow(
      'no resource(s) passed to apply'
    )
  })
})

describe('the command', () => {
  it('prints rendered resources on --dry-run without contacting anything', async () => {
    const t = io(
      'type: Mesh\nname: {{ mesh }}\n---\ntype: Secret\nname: s1\nmesh: {{ mesh }}\ndata: aGVsbG8=\n'
    )
    const code = await runCli(
      ['apply', '-f', '-', '--dry-run', '--var', 'mesh=prod', '--api-url', 'http://127.0.0.1:1'],
      t.io,
      {}
    )
    expect(code).toBe(0)
    expect(t.out.join('')).toBe(
      '---\ntype: Mesh\nname: prod\n---\ntype: Secret\nname: s1\nmesh: prod\ndata: aGVsbG8=\n'
    )
  })

  it('exits 1 with the field path of a client-side violation', async () => {
    const t = io('type: Mesh\nname: Bad_Name\n')
    expect(await runCli(['apply', '-f', '-'], t.io, {})).toBe(1)
    expect(t.err.join('')).toContain('  * name: invalid characters.')
  })

  it('exits 2 on usage errors and prints the usage', async () => {
    const t = io()
    expect(await runCli(['get', '--bogus'], t.io, {})).toBe(2)
    expect(t.err.join('')).toContain('Usage: meshca')
    expect(await runCli(['frobnicate'], t.io, {})).toBe(2)
  })

  it('reports an unreachable control plane clearly', async () => {
    const t = io()
    expect(await runCli(['get', 'meshes', '--api-url', 'http://127.0.0.1:9'], t.io, {})).toBe(1)
    expect(t.err.join('')).toMatch(/^Error: cannot reach the control plane at http:\/\/127.0.0.1:9/)
  })
})
