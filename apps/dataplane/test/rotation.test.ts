/**
 * Certificates change under live traffic: a client sends requests without pause through web's
 * outbound to backend's inbound (new connections, so every request is a new handshake, and one
 * connection held open across it all) while certificates rotate at 4/5 of a short lifetime, the
 * mesh switches CA the safe way, and the control plane restarts. Not one request may fail.
 */
import { Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { agentStatus, builtinMesh, MESH, startCp, useWorld } from './support/agent-world.ts'
import { SteadyClient, until } from './support/mesh-world.ts'

const world = useWorld('node', builtinMesh({ expiration: '8s' }))

/** An HTTP/1.1 keep-alive connection that sends a request every 200 ms and checks each answer. */
class HeldConnection {
  answers = 0
  errors: string[] = []
  readonly #socket: Socket
  readonly #timer: ReturnType<typeof setInterval>

  constructor(port: number) {
    this.#socket = new Socket()
    this.#socket.connect(port, '127.0.0.1')
    this.#socket.setEncoding('utf8')
    this.#socket.on('data', (chunk: string) => {
      this.answers += chunk.split('HTTP/1.1 200 OK').length - 1
    })
    this.#socket.on('error', (error) => this.errors.push(error.message))
    this.#socket.on('close', () => this.errors.push('closed'))
    this.#timer = setInterval(
      () => this.#socket.write('GET / HTTP/1.1\r\nhost: backend\r\n\r\n'),
      200
    )
  }

  close(): void {
    clearInterval(this.#timer)
    this.#socket.removeAllListeners('close')
    this.#socket.destroy()
  }
}

const both = () =>
  Promise.all([agentStatus(world().agents.web), agentStatus(world().agents.backend)])

describe('rotation under traffic', () => {
  it('loses no request across rotations, a safe CA switch and a control plane restart', async () => {
    const { api, ports } = world()
    const client = new SteadyClient(ports.webOutbound, 'backend')
    const held = new HeldConnection(ports.webOutbound)
    const firstExpiry = (await agentStatus(world().agents.backend)).identity?.expiration
    // Rotations: an 8 s certificate is replaced after 6.4 s; wait for two.
    await until(
      both,
      ([w, b]) => w.identity?.expiration !== firstExpiry && b.identity?.expiration !== firstExpiry,
      20_000
    )
    const secondExpiry = (await agentStatus(world().agents.backend)).identity?.expiration
    await until(
      () => agentStatus(world().agents.backend),
      (b) => b.identity?.expiration !== secondExpiry,
      20_000
    )

    // The safe switch: add ca-2 (both trust it), switch to it, then remove ca-1.
    await api.put(`/meshes/${MESH}`, builtinMesh({ expiration: '8s', backends: ['ca-1', 'ca-2'] }))
    await until(
      both,
      (s) => s.every((a) => a.identity?.supportedBackends?.includes('ca-2')),
      20_000
    )
    await api.put(
      `/meshes/${MESH}`,
      builtinMesh({ expiration: '8s', backends: ['ca-1', 'ca-2'], enabled: 'ca-2' })
    )
    await until(both, (s) => s.every((a) => a.identity?.backend === 'ca-2'), 20_000)
    await api.put(`/meshes/${MESH}`, builtinMesh({ expiration: '8s', backends: ['ca-2'] }))
    await until(
      both,
      (s) => s.every((a) => a.identity?.supportedBackends?.join() === 'ca-2'),
      20_000
    )

    // The control plane restarts; the agents keep serving and reconnect.
    await world().cp.stop()
    const okDuringOutage = client.ok
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    world().cp = await startCp(world().dataDir, world().cpPort)
    const beforeReconnect = (await agentStatus(world().agents.backend)).identity?.expiration
    // A reconnect gets a new certificate (decision: a new one on every connection).
    await until(
      () => agentStatus(world().agents.backend),
      (b) => b.identity?.expiration !== beforeReconnect,
      30_000
    )
    await new Promise((resolve) => setTimeout(resolve, 2_000))
    const { ok, failures } = await client.stop()
    held.close()
    expect(failures).toEqual([])
    expect(ok).toBeGreaterThan(okDuringOutage)
    expect(held.errors).toEqual([])
    expect(held.answers).toBeGreaterThan(50)
  })
})
