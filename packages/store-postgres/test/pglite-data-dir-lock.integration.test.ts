/**
 * One process at a time in a PGlite data directory: a second process refuses to open it and names
 * the holder's PID, closing releases it, a holder killed with SIGKILL leaves a stale lock that the
 * next opener takes over, and of several openers racing for a stale lock exactly one wins. Holders are
 * real processes on the runtime running the tests (support/data-dir-holders.ts).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { isMeshcaError, type ResourceKey } from '@meshca/core-mtls'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { isDataDirInUse, openStore } from '../src/index.ts'
import { type HolderProcess, startHolder } from './support/data-dir-holders.ts'

let root: string
let dirs = 0
const holders: HolderProcess[] = []

/** Each test starts processes that open PGlite: seconds each when idle, far more under load. */
const PROCESS_TEST_TIMEOUT_MS = 180_000

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'meshca-pglite-lock-'))
  // Created here, where slowness is no test's fault: creating takes far longer than opening.
  await mkdir(sharedDataDir(), { recursive: true })
  const created = await openStore(sharedDataDir())
  await created.close()
}, 300_000)

afterEach(async () => {
  // A failed test must not leave its holders holding.
  for (const holder of holders.splice(0)) {
    if (holder.child.exitCode === null) holder.child.kill('SIGKILL')
    await holder.exited
  }
})

afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

function newDataDir(): string {
  return join(root, `data-${++dirs}`)
}

/**
 * The directory of the tests that open PGlite, one after the other: creating a database takes most
 * of a minute on a busy machine, opening an existing one seconds, so `beforeAll` creates it. Each
 * test leaves it unlocked.
 */
function sharedDataDir(): string {
  return join(root, 'shared')
}

async function spawnHolder(mode: 'store' | 'lock', dir: string): Promise<HolderProcess> {
  const started = await startHolder(mode, dir)
  holders.push(started)
  return started
}

function heldBy(pid: number): ResourceKey {
  return { type: 'Secret', mesh: 'default', name: `held-by-${pid}` }
}

/** What `open` failed with; fails the test when it opened. */
async function refusal(open: Promise<{ close(): Promise<void> }>): Promise<Error> {
  const outcome = await open.then(
    async (store) => {
      await store.close()
      return undefined
    },
    (error: unknown) => error as Error
  )
  if (outcome === undefined) expect.fail('the second open succeeded')
  return outcome
}

async function killed(holder: HolderProcess): Promise<void> {
  holder.child.kill('SIGKILL')
  expect(await holder.exited).toBeNull()
}

function lockPid(dir: string): number {
  return (JSON.parse(readFileSync(join(dir, 'meshca.lock'), 'utf8')) as { pid: number }).pid
}

describe('the PGlite data directory lock', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('refuses a second process while one holds the directory, and lets one in once it closed', async () => {
    const dir = sharedDataDir()
    const first = await spawnHolder('store', dir)
    const pid = first.child.pid as number
    expect(await first.nextLine()).toBe(`held ${pid}`)

    const second = await spawnHolder('store', dir)
    const answer = await second.nextLine()
    expect(answer).toMatch(/^refused the PGlite data directory .* is in use by process \d+ on /)
    expect(answer).toContain(`process ${pid} on ${hostname()}`)
    expect(await second.exited).toBe(3)

    // The same refusal, as the typed error an embedder sees.
    const error = await refusal(openStore(dir))
    expect(isMeshcaError(error, 'STORE_UNAVAILABLE')).toBe(true)
    expect(isDataDirInUse(error)).toBe(true)
    expect(error.message).toContain(`process ${pid} on ${hostname()}`)

    first.send('release')
    expect(await first.nextLine()).toBe('released')
    expect(await first.exited).toBe(0)
    expect(existsSync(join(dir, 'meshca.lock'))).toBe(false)

    const third = await openStore(dir)
    try {
      expect(await third.get(heldBy(pid))).toBeDefined()
    } finally {
      await third.close()
    }
    expect(existsSync(join(dir, 'meshca.lock'))).toBe(false)
  })

  it('takes over the lock of a holder killed with SIGKILL, with what it wrote', async () => {
    const dir = sharedDataDir()
    const holder = await spawnHolder('store', dir)
    const pid = holder.child.pid as number
    expect(await holder.nextLine()).toBe(`held ${pid}`)
    await killed(holder)
    expect(lockPid(dir)).toBe(pid)

    const store = await openStore(dir)
    try {
      expect(lockPid(dir)).toBe(process.pid)
      expect(await store.get(heldBy(pid))).toBeDefined()
    } finally {
      await store.close()
    }
  })

  it('lets exactly one of several processes racing for a stale lock take it', async () => {
    const dir = newDataDir()
    const killedHolder = await spawnHolder('lock', dir)
    killedHolder.send('go')
    expect(await killedHolder.nextLine()).toBe(`held ${killedHolder.child.pid}`)
    await killed(killedHolder)

    const racers = await Promise.all([1, 2, 3, 4, 5, 6].map(() => spawnHolder('lock', dir)))
    try {
      for (const racer of racers) racer.send('go')
      const answers = await Promise.all(racers.map((racer) => racer.nextLine()))
      const winners = answers.filter((answer) => answer.startsWith('held '))
      expect(winners, answers.join('\n')).toHaveLength(1)
      const winner = Number(winners[0]?.slice('held '.length))
      expect(lockPid(dir)).toBe(winner)
      for (const answer of answers.filter((a) => !a.startsWith('held '))) {
        expect(answer).toContain(`is in use by process ${winner} on ${hostname()}`)
      }
    } finally {
      for (const racer of racers) racer.send('release')
      await Promise.all(racers.map((racer) => racer.exited))
    }
    expect(existsSync(join(dir, 'meshca.lock'))).toBe(false)
  })

  it('refuses a second open in the same process', async () => {
    const dir = sharedDataDir()
    const store = await openStore(dir)
    try {
      const error = await refusal(openStore(dir))
      expect(isDataDirInUse(error)).toBe(true)
      expect(error.message).toContain(`in use by this process (PID ${process.pid})`)
    } finally {
      await store.close()
    }
  })

  it('refuses a lock held on another host, which it cannot check, and one it cannot read', async () => {
    const dir = newDataDir()
    await mkdir(dir)
    const lockFile = join(dir, 'meshca.lock')
    const elsewhere = {
      pid: 1234,
      host: 'elsewhere.example',
      token: globalThis.crypto.randomUUID(),
      since: new Date().toISOString(),
    }
    writeFileSync(lockFile, JSON.stringify(elsewhere))
    const error = await refusal(openStore(dir))
    expect(isDataDirInUse(error)).toBe(true)
    expect(error.message).toContain('in use by process 1234 on elsewhere.example')
    expect(error.message).toContain(`if that process no longer runs, delete ${lockFile}`)

    // The same host and boot, another PID namespace (a container sharing the volume, where the
    // holder is PID 1 too): its PID means nothing here, so it is not taken for a dead holder.
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    const container = {
      ...elsewhere,
      pid: process.pid,
      host: hostname(),
      boot,
      pidNamespace: 'pid:[1]',
    }
    writeFileSync(lockFile, JSON.stringify(container))
    const namespaced = await refusal(openStore(dir))
    expect(isDataDirInUse(namespaced)).toBe(true)
    expect(namespaced.message).toContain('(another PID namespace)')
    // From an earlier boot of this host, the holder is gone whatever its PID: taken over.
    // (A holder leaves its holding file beside the lock, as a killed one does.)
    const earlier = JSON.stringify({ ...container, boot: 'an-earlier-boot' })
    writeFileSync(lockFile, earlier)
    writeFileSync(`${lockFile}.${container.token}`, earlier)
    const reopened = await openStore(dir)
    await reopened.close()

    writeFileSync(lockFile, 'not a lock')
    const unreadable = await refusal(openStore(dir))
    expect(isMeshcaError(unreadable, 'STORE_UNAVAILABLE')).toBe(true)
    expect(unreadable.message).toContain(`${lockFile} of the PGlite data directory is not meshca's`)
  })
})
