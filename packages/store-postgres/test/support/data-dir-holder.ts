/**
 * A process that holds a PGlite data directory, for the lock tests: `store <dir>` opens a store there
 * at once and creates the Secret `held-by-<pid>`; `lock <dir>` takes only the directory's lock, when
 * told `go` on stdin (so that several try at the same moment). It prints `held <pid>` or
 * `refused <message>`, then keeps what it holds until `release` or the end of stdin, and prints
 * `released`. Run with `runOnThisRuntime` (data-dir-holders.ts).
 */
import { createInterface } from 'node:readline'
import { lockDataDir } from '../../src/drivers/pglite-data-dir-lock.ts'
import { openStore } from '../../src/index.ts'

const [mode, dir] = process.argv.slice(2)
if ((mode !== 'store' && mode !== 'lock') || dir === undefined) {
  process.stderr.write('usage: data-dir-holder.ts store|lock <dir>\n')
  process.exit(2)
}

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
/** The next line from the parent; `undefined` once stdin ended. */
async function nextLine(): Promise<string | undefined> {
  const { value, done } = await lines.next()
  return done === true ? undefined : String(value)
}

async function hold(): Promise<() => Promise<void>> {
  if (mode === 'lock') {
    if ((await nextLine()) !== 'go') process.exit(0)
    const lock = await lockDataDir(dir as string)
    return () => lock.release()
  }
  const store = await openStore(dir as string)
  await store.create({ type: 'Secret', mesh: 'default', name: `held-by-${process.pid}` }, {})
  return () => store.close()
}

process.stdout.write('ready\n')
let release: () => Promise<void>
try {
  release = await hold()
} catch (error) {
  process.stdout.write(`refused ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(3)
}
process.stdout.write(`held ${process.pid}\n`)
for (
  let line = await nextLine();
  line !== undefined && line !== 'release';
  line = await nextLine()
);
await release()
process.stdout.write('released\n')
process.exit(0)
