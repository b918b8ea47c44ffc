/**
 * The committed migrations: what the journal lists is what is on disk, nothing in them names a schema
 * (the store applies them inside its own), and they match `src/schema.ts` (drizzle-kit finds nothing
 * to generate). Runs on Node only: it starts drizzle-kit.
 */
import { execFile } from 'node:child_process'
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { defaultMigrationsFolder } from '../src/index.ts'

const folder = defaultMigrationsFolder()
const packageRoot = fileURLToPath(new URL('..', import.meta.url))

describe('committed migrations', () => {
  it('are the files the journal lists, and name no schema', async () => {
    const journal = JSON.parse(await readFile(join(folder, 'meta', '_journal.json'), 'utf8')) as {
      entries: { tag: string; when: number }[]
    }
    const files = (await readdir(folder)).filter((file) => file.endsWith('.sql')).sort()
    expect(files).toEqual(journal.entries.map((entry) => `${entry.tag}.sql`))
    const whens = journal.entries.map((entry) => entry.when)
    expect(whens).toEqual([...whens].sort((a, b) => a - b))
    for (const file of files) {
      const text = (await readFile(join(folder, file), 'utf8'))
        .split('\n')
        .filter((line) => !line.trimStart().startsWith('--'))
        .join('\n')
        .toLowerCase()
      expect(text, file).not.toContain('public')
      expect(text, file).not.toContain('create schema')
      expect(text.replaceAll('set search_path from current', ''), file).not.toContain('search_path')
    }
  })

  it('match src/schema.ts: drizzle-kit has nothing to generate', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'meshca-drift-'))
    try {
      await cp(folder, join(scratch, 'drizzle'), { recursive: true })
      const drizzleKit = join(packageRoot, '..', '..', 'node_modules', 'drizzle-kit', 'bin.cjs')
      const output = await new Promise<string>((resolve, reject) => {
        execFile(
          'node',
          [
            drizzleKit,
            'generate',
            '--dialect',
            'postgresql',
            '--schema',
            join(packageRoot, 'src', 'schema.ts'),
            '--out',
            './drizzle',
          ],
          { cwd: scratch, timeout: 60_000 },
          (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout))
        )
      })
      expect(output).toContain('No schema changes')
      expect((await readdir(join(scratch, 'drizzle'))).sort()).toEqual(
        (await readdir(folder)).sort()
      )
    } finally {
      await rm(scratch, { recursive: true, force: true })
    }
  })
})
