/**
 * One side of the meshca-dp pair, as its own process: builds a `TlsIdentity` and one
 * `InboundListener` or `OutboundListener` of the proxy engine from the JSON file named by its
 * argument, prints `listening` once it accepts connections, and closes on SIGTERM/SIGINT (then
 * exits, so `node --cpu-prof` writes its profile). Bench-only: the agent's own entry point gets the
 * same objects from the control plane.
 */
import { readFileSync } from 'node:fs'
import type { InboundConfig, OutboundConfig } from '@meshca/core-mtls'
import { createConsoleLogger } from '@meshca/core-mtls'
import { Registry } from 'prom-client'

export interface ProxyProcessSpec {
  readonly role: 'inbound' | 'outbound'
  readonly mesh: string
  readonly identity: {
    readonly certificateChain: string
    readonly privateKey: string
    readonly trustBundle: string
    readonly mode: 'STRICT' | 'PERMISSIVE'
    readonly backend: string
    /** ISO 8601. */
    readonly expiration: string
  }
  readonly config: InboundConfig | OutboundConfig
}

const ENGINE = '../src/proxy/index.ts'

const path = process.argv[2]
if (path === undefined) throw new Error('usage: proxy-process.ts SPEC.json')
const spec = JSON.parse(readFileSync(path, 'utf8')) as ProxyProcessSpec

let engine: typeof import('../src/proxy/index.ts')
try {
  engine = await import(ENGINE)
} catch (error) {
  const missing =
    (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' &&
    String(error).includes('src/proxy/index.ts')
  console.error(
    missing
      ? 'meshca-dp: proxy engine not merged yet (apps/dataplane/src/proxy/index.ts is missing: git merge dp/proxy)'
      : `meshca-dp: the proxy engine failed to load: ${String(error)}`
  )
  process.exit(3)
}

const logger = createConsoleLogger('warn', (line) => process.stderr.write(line))
const identity = new engine.TlsIdentity()
identity.update({
  ...spec.identity,
  expiration: new Date(spec.identity.expiration),
  mesh: spec.mesh,
})
const options = { identity, metrics: new engine.ProxyMetrics(new Registry()), logger }
const listener =
  spec.role === 'inbound'
    ? await engine.InboundListener.listen({ ...options, config: spec.config as InboundConfig })
    : await engine.OutboundListener.listen({ ...options, config: spec.config as OutboundConfig })
console.log(`meshca-dp ${spec.role} listening on ${spec.config.address}:${spec.config.port}`)

let closing = false
const close = () => {
  if (closing) return
  closing = true
  listener.close({ drainMs: 0 }).finally(() => process.exit(0))
  setTimeout(() => process.exit(0), 2000).unref()
}
process.on('SIGTERM', close)
process.on('SIGINT', close)
