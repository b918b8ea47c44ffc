/**
 * A PostgreSQL server of the tests' own, in a temporary directory, from the server binaries of this
 * machine (`initdb`, `pg_ctl`): for when no server answers, and for tests that stop and start a
 * server. As root, the server runs as the `postgres` user, since PostgreSQL refuses to run as root.
 */
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface ThrowawayServer {
  readonly url: string
  readonly port: number
  /** Stops the server; `fast` ends sessions and rolls back open transactions, as a restart does. */
  stop(): Promise<void>
  start(): Promise<void>
  /** Stops the server and deletes its data. */
  destroy(): Promise<void>
}

/** Where `initdb` and `pg_ctl` are, or `undefined`. `MESHCA_PG_BIN` wins. */
export function findServerBinaries(): string | undefined {
  const candidates: string[] = []
  const fromEnv = process.env.MESHCA_PG_BIN
  if (fromEnv !== undefined && fromEnv !== '') candidates.push(fromEnv)
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir !== '') candidates.push(dir)
  const debianRoot = '/usr/lib/postgresql'
  if (existsSync(debianRoot)) {
    const versions = readdirSync(debianRoot).sort((a, b) => Number(b) - Number(a))
    for (const version of versions) candidates.push(join(debianRoot, version, 'bin'))
  }
  return candidates.find(
    (dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))
  )
}

function run(command: string, args: readonly string[], asUser: string | undefined) {
  const [file, argv] =
    asUser === undefined ? [command, args] : ['runuser', ['-u', asUser, '--', command, ...args]]
  return new Promise<string>((resolve, reject) => {
    execFile(file, argv, { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} failed: ${stderr || error.message}`))
      else resolve(stdout)
    })
  })
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

function userIds(name: string): { uid: number; gid: number } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${name}:`))
  const [, , uid, gid] = line?.split(':') ?? []
  return uid === undefined || gid === undefined ? undefined : { uid: Number(uid), gid: Number(gid) }
}

export async function startThrowawayPostgres(): Promise<ThrowawayServer> {
  const bin = findServerBinaries()
  if (bin === undefined) {
    throw new Error(
      'no PostgreSQL server answers and no server binaries (initdb, pg_ctl) were found: start one, set PG_CONNECTION_STRING, or set MESHCA_PG_BIN to the folder holding initdb'
    )
  }
  const root = await mkdtemp(join(tmpdir(), 'meshca-pg-'))
  const dataDir = join(root, 'data')
  const socketDir = root
  let asUser: string | undefined
  if (process.getuid?.() === 0) {
    const ids = userIds('postgres') ?? userIds('nobody')
    if (ids === undefined) throw new Error('running as root, and no user to run PostgreSQL as')
    asUser = userIds('postgres') === undefined ? 'nobody' : 'postgres'
    await chown(root, ids.uid, ids.gid)
    await chmod(root, 0o700)
  }
  await run(
    join(bin, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'],
    asUser
  )
  const port = await freePort()
  const options = [
    `-p ${port}`,
    `-k ${socketDir}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
  ].join(' ')
  const start = () =>
    run(
      join(bin, 'pg_ctl'),
      ['-D', dataDir, '-o', options, '-l', join(root, 'server.log'), '-w', '-t', '60', 'start'],
      asUser
    ).then(() => {})
  const stop = () =>
    run(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop'], asUser).then(
      () => {}
    )
  await start()
  let running = true
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      await stop()
      running = false
    },
    async start() {
      await start()
      running = true
    },
    async destroy() {
      if (running) await stop().catch(() => {})
      running = false
      await rm(root, { recursive: true, force: true })
    },
  }
}
