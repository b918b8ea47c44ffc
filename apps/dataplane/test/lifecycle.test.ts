/**
 * An agent's life: SIGTERM drains it (no new connections, open ones finish), a restart gets a fresh
 * certificate, and the agent pair runs on Bun as it does on Node.
 */
import { connect } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import {
  agentStatus,
  MESH,
  startBackend,
  startWorld,
  stopWorld,
  type World,
} from './support/agent-world.ts'
import { get, until } from './support/mesh-world.ts'

const worlds: World[] = []
afterAll(() => Promise.all(worlds.map(stopWorld)))

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.on('connect', () => {
      socket.destroy()
      resolve(false)
    })
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'))
  })
}

interface Insight {
  dataplaneInsight: { mTLS: { certificateRegenerations: number } }
}

describe('meshca-dp lifecycle', () => {
  it('drains on SIGTERM, and a restart gets a fresh certificate', async () => {
    const world = await startWorld()
    worlds.push(world)
    const { api, ports } = world
    const before = await api.get<Insight>(`/meshes/${MESH}/dataplanes+insights/backend-1`)
    const firstExpiry = (await agentStatus(world.agents.backend)).identity?.expiration
    const slow = get(ports.webOutbound, '/?delay=1500')
    await new Promise((resolve) => setTimeout(resolve, 300))
    const exited = world.agents.backend.stop('SIGTERM')
    await until(
      () => refused(ports.backendInbound),
      (yes) => yes,
      2_000
    )
    expect(await slow).toBe('backend')
    expect(await exited).toBe(0)

    world.agents.backend = await startBackend(world)
    await until(
      () => get(ports.webOutbound),
      (body) => body === 'backend',
      15_000
    )
    const after = await api.get<Insight>(`/meshes/${MESH}/dataplanes+insights/backend-1`)
    expect(after.dataplaneInsight.mTLS.certificateRegenerations).toBeGreaterThan(
      before.dataplaneInsight.mTLS.certificateRegenerations
    )
    // Whole seconds: a certificate issued at least a second later expires later.
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    expect((await agentStatus(world.agents.backend)).identity?.expiration).not.toBe(firstExpiry)
  })

  it('runs on Bun: mTLS between two Bun agents, plaintext refused', async () => {
    const world = await startWorld('bun')
    worlds.push(world)
    expect(await get(world.ports.webOutbound)).toBe('backend')
    expect(await get(world.ports.backendInbound)).toMatch(/^ERR /)
  })
})
