/**
 * One process at a time in a PGlite data directory. PGlite is a PostgreSQL server inside the process
 * that opens it: two processes on one directory are two servers over the same files, and what one
 * writes the other overwrites (a Mesh created through the second was gone once both had restarted).
 * PGlite's own `postmaster.pid` cannot tell them apart: every PGlite writes the PID -42.
 *
 * The lock is the file `meshca.lock` in the directory, as PostgreSQL's `postmaster.pid`: the holder's
 * PID, host, start time and a random token naming this holding. It is written whole, and synced, under
 * a name of its own (`meshca.lock.<token>`, kept until release), then hard-linked to `meshca.lock`: the
 * link appears at once with its content, and only one of several openers can make it.
 *
 * A lock whose PID is not running on this host is stale (its holder was killed), and so is one from
 * an earlier boot of this host (Linux boot id). A lock from another PID namespace of this boot is
 * one this process cannot check: two containers sharing a volume and a host name (both PID 1)
 * cannot see each other's processes, so neither takes the other's lock for a dead one. Taking it over must
 * not let two openers win, nor remove a lock someone took meanwhile; so only the one process that
 * renames the stale holding's own file to a claim (`meshca.lock.<token>~<pid>.<own token>`) may remove
 * `meshca.lock`, and only while it still names that token. A rename succeeds once: whoever loses it
 * looks again. A claimer killed midway leaves its claim, which the next one renames in turn. Once
 * `meshca.lock` is gone, every opener tries to link its own again, and one wins.
 */
import { link, mkdir, open, readdir, readFile, readlink, rename, unlink } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { isMeshcaError, MeshcaError } from '@meshca/core-mtls'

export const LOCK_FILE = 'meshca.lock'

/** Rounds of "link, else judge the holder" before giving up on a lock that keeps changing. */
const MAX_ATTEMPTS = 100
/** How long to wait for another process that is taking over a stale lock right now. */
const CLAIM_WAIT_MS = 20
/** A lock file is a line of JSON; anything longer is not ours. */
const MAX_LOCK_BYTES = 4096

export interface DataDirLock {
  /** The lock file, `meshca.lock` in the data directory. */
  readonly file: string
  /** Removes the lock; call once the database is closed. */
  release(): Promise<void>
}

interface Holder {
  readonly pid: number
  readonly host: string
  /** Linux: the boot id and the PID namespace in which `pid` is the holder; absent elsewhere. */
  readonly boot?: string
  readonly pidNamespace?: string
  readonly token: string
  readonly since: string
}

/** The boot and PID namespace of this process, where the system says (Linux `/proc`). */
async function processScope(): Promise<Pick<Holder, 'boot' | 'pidNamespace'>> {
  try {
    const [boot, pidNamespace] = await Promise.all([
      readFile('/proc/sys/kernel/random/boot_id', 'utf8'),
      readlink('/proc/self/ns/pid'),
    ])
    return { boot: boot.trim(), pidNamespace }
  } catch {
    return {}
  }
}

/** Both say, and differ. */
function differ(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a !== b
}

/**
 * Tokens of this process's holdings and of its attempts under way. A lock or claim with this
 * process's PID is this process's only if its token is here; otherwise an earlier process had the
 * same PID (a container's PID 1). Kept on `globalThis` so that two copies of this module agree.
 */
const registry = globalThis as unknown as Record<symbol, Set<string> | undefined>
const REGISTRY = Symbol.for('meshca.store-postgres.data-dir-locks')
const liveTokens: Set<string> = registry[REGISTRY] ?? new Set<string>()
registry[REGISTRY] = liveTokens

/**
 * The directory of a PGlite `dataDir` on this machine's file system, as PGlite reads the string;
 * `undefined` for one in memory or in a browser's storage, which no other process can open.
 */
export function fileSystemDataDir(dataDir: string | undefined): string | undefined {
  if (dataDir === undefined || dataDir === '' || dataDir.startsWith('memory://')) return undefined
  if (dataDir.startsWith('file://')) return dataDir.slice('file://'.length) || undefined
  if (/^(idb|opfs-ahp|memfs2opfs):\/\//.test(dataDir)) return undefined
  return dataDir
}

/** Takes the lock of `dataDir` (created if missing), or fails with who holds it. */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const dir = resolve(dataDir)
  const file = join(dir, LOCK_FILE)
  const self: Holder = {
    pid: process.pid,
    host: hostname(),
    ...(await processScope()),
    token: globalThis.crypto.randomUUID(),
    since: new Date().toISOString(),
  }
  const own = join(dir, `${LOCK_FILE}.${self.token}`)
  liveTokens.add(self.token)
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 }).catch(fileError(dir))
    await writeSynced(own, `${JSON.stringify(self)}\n`).catch(fileError(dir))
    await takeLock(dir, file, own, self).catch(async (error: unknown) => {
      await unlink(own).catch(() => undefined)
      throw error
    })
  } catch (error) {
    liveTokens.delete(self.token)
    throw error
  }
  let released: Promise<void> | undefined
  return {
    file,
    release() {
      released ??= releaseLock(file, own, self.token)
      return released
    },
  }
}

async function takeLock(dir: string, file: string, own: string, self: Holder): Promise<void> {
  let stale: Holder | undefined
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (await linkUnlessTaken(own, file).catch(fileError(dir))) return
    const holder = await readHolder(file).catch(fileError(dir))
    if (holder === 'gone') continue
    if (holder === 'unreadable') {
      throw new MeshcaError(
        'STORE_UNAVAILABLE',
        `the lock file ${file} of the PGlite data directory is not meshca's and names no process: if no process uses ${dir}, delete it`
      )
    }
    // The host's processes all ended with its previous boot; another namespace's are out of sight.
    const previousBoot = holder.host === self.host && differ(holder.boot, self.boot)
    if (!previousBoot) {
      if (holder.host !== self.host || differ(holder.pidNamespace, self.pidNamespace)) {
        throw inUseElsewhere(dir, file, holder, self.host)
      }
      if (isRunning(holder.pid, holder.token)) throw inUse(dir, holder)
    }
    stale = holder
    await takeOverStale(dir, file, stale, self).catch(fileError(dir))
  }
  throw new MeshcaError(
    'STORE_UNAVAILABLE',
    stale === undefined
      ? `the lock file ${file} kept changing: try again`
      : `could not take over the lock file ${file} of process ${stale.pid}, which is not running: if no process uses ${dir}, delete it`
  )
}

/** Removes the stale lock `holder` if this process wins its claim; the caller then looks again. */
async function takeOverStale(dir: string, file: string, holder: Holder, self: Holder) {
  const prefix = `${LOCK_FILE}.${holder.token}~`
  const claim = join(dir, `${prefix}${self.pid}.${self.token}`)
  if (!(await renameUnlessGone(join(dir, `${LOCK_FILE}.${holder.token}`), claim))) {
    // Someone claimed it first. If that claimer was killed, its claim is the one to take.
    const other = (await readdir(dir)).find((name) => name.startsWith(prefix))
    const claimer = /^(\d+)\.([0-9a-f-]{36})$/.exec(other?.slice(prefix.length) ?? '')
    if (other === undefined || claimer === null) return
    if (isRunning(Number(claimer[1]), claimer[2] ?? '')) {
      await sleep(CLAIM_WAIT_MS)
      return
    }
    if (!(await renameUnlessGone(join(dir, other), claim))) return
  }
  // Only the claim's owner removes the stale lock, so it cannot have changed since this read.
  const current = await readHolder(file)
  if (typeof current === 'object' && current.token === holder.token) await unlinkIfPresent(file)
  await unlinkIfPresent(claim)
}

async function releaseLock(file: string, own: string, token: string): Promise<void> {
  try {
    const current = await readHolder(file)
    if (typeof current === 'object' && current.token === token) await unlinkIfPresent(file)
    // After the lock: a holding file without a lock is litter, a lock without one could not be taken over.
    await unlinkIfPresent(own)
  } finally {
    liveTokens.delete(token)
  }
}

/** Whether `pid` runs on this host; this process only while `token` is one of its own. */
function isRunning(pid: number, token: string): boolean {
  if (pid === process.pid) return liveTokens.has(token)
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as { code?: unknown }).code !== 'ESRCH'
  }
}

function inUse(dir: string, holder: Holder): MeshcaError {
  const who =
    holder.pid === process.pid
      ? `this process (PID ${holder.pid})`
      : `process ${holder.pid} on ${holder.host}`
  return new MeshcaError(
    'STORE_UNAVAILABLE',
    `the PGlite data directory ${dir} is in use by ${who} since ${holder.since}; one process at a time can open it`,
    { path: 'dataDir' }
  )
}

function inUseElsewhere(dir: string, file: string, holder: Holder, host: string): MeshcaError {
  return new MeshcaError(
    'STORE_UNAVAILABLE',
    `the PGlite data directory ${dir} is in use by process ${holder.pid} on ${holder.host}${holder.host === host ? ' (another PID namespace)' : ''} since ${holder.since}, which ${host} cannot check; one process at a time can open it (if that process no longer runs, delete ${file})`,
    { path: 'dataDir' }
  )
}

/** Whether `error` is the refusal to open a PGlite data directory that another process holds. */
export function isDataDirInUse(error: unknown): error is MeshcaError {
  return isMeshcaError(error, 'STORE_UNAVAILABLE') && error.path === 'dataDir'
}

/** The holder a lock file names; `gone` when there is none, `unreadable` when it is not ours. */
async function readHolder(file: string): Promise<Holder | 'gone' | 'unreadable'> {
  let text: string
  try {
    const handle = await open(file, 'r')
    try {
      const buffer = new Uint8Array(MAX_LOCK_BYTES)
      const { bytesRead } = await handle.read(buffer, 0, MAX_LOCK_BYTES, 0)
      text = new TextDecoder().decode(buffer.subarray(0, bytesRead))
    } finally {
      await handle.close()
    }
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return 'gone'
    throw error
  }
  try {
    const value = JSON.parse(text) as Partial<Record<keyof Holder, unknown>>
    const { pid, host, boot, pidNamespace, token, since } = value
    if (!Number.isSafeInteger(pid) || (pid as number) <= 0) return 'unreadable'
    if (typeof host !== 'string' || typeof since !== 'string') return 'unreadable'
    if (boot !== undefined && typeof boot !== 'string') return 'unreadable'
    if (pidNamespace !== undefined && typeof pidNamespace !== 'string') return 'unreadable'
    if (typeof token !== 'string' || !/^[0-9a-f-]{36}$/.test(token)) return 'unreadable'
    return {
      pid: pid as number,
      host,
      ...(typeof boot === 'string' ? { boot } : {}),
      ...(typeof pidNamespace === 'string' ? { pidNamespace } : {}),
      token,
      since,
    }
  } catch {
    return 'unreadable'
  }
}

/** Creates `path` with `text`, on disk before anyone can link it. */
async function writeSynced(path: string, text: string): Promise<void> {
  const handle = await open(path, 'wx', 0o600)
  try {
    await handle.writeFile(text)
    await handle.sync()
  } finally {
    await handle.close()
  }
}

async function linkUnlessTaken(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to)
    return true
  } catch (error) {
    if ((error as { code?: unknown }).code === 'EEXIST') return false
    throw error
  }
}

async function renameUnlessGone(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to)
    return true
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return false
    throw error
  }
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path)
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') throw error
  }
}

/** A file system failure while locking, as the store reports a database it cannot open. */
function fileError(dir: string): (error: unknown) => never {
  return (error) => {
    if (isMeshcaError(error)) throw error
    const reason = error instanceof Error ? error.message : String(error)
    throw new MeshcaError(
      'STORE_UNAVAILABLE',
      `cannot lock the PGlite data directory ${dir}: ${reason}`,
      { cause: error }
    )
  }
}
