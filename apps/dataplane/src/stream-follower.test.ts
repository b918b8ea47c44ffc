import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { silentLogger } from '@meshca/core-mtls'
import { afterEach, describe, expect, it } from 'vitest'
import { ControlPlaneApi } from './control-plane-api.ts'
import type { ServerEvent } from './sse-reader.ts'
import { StreamFollower } from './stream-follower.ts'

const servers: Server[] = []
afterEach(() => {
  for (const server of servers.splice(0)) server.close()
})

/** A control plane that answers each stream request with the next of `answers`. */
async function controlPlane(answers: ((res: import('node:http').ServerResponse) => void)[]) {
  let calls = 0
  const server = createServer((_, res) => {
    const answer = answers[Math.min(calls, answers.length - 1)]
    calls++
    answer?.(res)
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const api = new ControlPlaneApi({
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token: 't',
    mesh: 'default',
    name: 'web-1',
  })
  return { api, calls: () => calls }
}

const sse = (res: import('node:http').ServerResponse, data: string) => {
  res.writeHead(200, { 'content-type': 'text/event-stream' })
  res.end(`event: config\ndata: ${data}\n\n`)
}

describe('StreamFollower', () => {
  it('reconnects when the stream ends or fails, and registers again on a 404', async () => {
    const events: ServerEvent[] = []
    let registered = 0
    const cp = await controlPlane([
      (res) => sse(res, 'one'),
      (res) => res.writeHead(503, { 'retry-after': '0' }).end('{"title":"busy"}'),
      (res) => res.writeHead(404).end('{"title":"Not found"}'),
      (res) => sse(res, 'two'),
    ])
    const follower = new StreamFollower({
      name: 'config',
      open: (signal) => cp.api.open('config', {}, signal),
      onEvent: (event) => events.push(event),
      onNotRegistered: async () => {
        registered++
      },
      logger: silentLogger,
      random: () => 0,
    })
    follower.start()
    const deadline = Date.now() + 10_000
    while (events.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    await follower.stop()
    expect(events.map((e) => e.data)).toEqual(['one', 'two'])
    expect(registered).toBe(1)
    expect(cp.calls()).toBeGreaterThanOrEqual(4)
  })

  it('stops at once while waiting to reconnect', async () => {
    // Retry-After: 30 s, so a stop that waited for the next attempt would take 30 s or more.
    const cp = await controlPlane([(res) => res.writeHead(503, { 'retry-after': '30' }).end()])
    const follower = new StreamFollower({
      name: 'config',
      open: (signal) => cp.api.open('config', {}, signal),
      onEvent: () => {},
      logger: silentLogger,
      random: () => 0.99,
    })
    follower.start()
    await new Promise((r) => setTimeout(r, 300))
    const started = Date.now()
    await follower.stop()
    expect(Date.now() - started).toBeLessThan(3_000)
  })
})
