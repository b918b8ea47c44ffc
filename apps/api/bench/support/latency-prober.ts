/**
 * What an operator sees during the storm: `GET /meshes` sent one at a time every `intervalMs` on a
 * connection of its own (so it never queues behind the data planes' sockets on the client side),
 * each latency recorded. A slow answer delays the next request: see `withOmittedSamples`.
 */
import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { send } from './http-client.ts'

export interface ProbeResult {
  readonly latenciesMs: readonly number[]
  /** When each request left (`performance.now()`), index for index with `latenciesMs`. */
  readonly sentAtMs: readonly number[]
  /** Answers other than 200, and network errors, by status or code. */
  readonly failures: Readonly<Record<string, number>>
}

export interface LatencyProber {
  /** Stops after the request in flight; resolves with every sample. */
  stop(): Promise<ProbeResult>
}

export function startLatencyProber(
  baseUrl: string,
  path: string,
  intervalMs: number
): LatencyProber {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const latenciesMs: number[] = []
  const sentAtMs: number[] = []
  const failures: Record<string, number> = {}
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      const start = performance.now()
      let kind: string | undefined
      try {
        const answer = await send(agent, baseUrl, { method: 'GET', path })
        if (answer.status !== 200) kind = String(answer.status)
      } catch (error) {
        const code = (error as { code?: unknown }).code
        kind = typeof code === 'string' ? code : 'ERROR'
      }
      const latency = performance.now() - start
      latenciesMs.push(latency)
      sentAtMs.push(start)
      if (kind !== undefined) failures[kind] = (failures[kind] ?? 0) + 1
      const wait = intervalMs - latency
      if (wait > 0 && !stopped) await sleep(wait)
    }
  })()
  return {
    async stop() {
      stopped = true
      await loop
      agent.destroy()
      return { latenciesMs, sentAtMs, failures }
    },
  }
}
