/** A control plane and the web and backend agents with their applications, for the agent's tests. */
import {
  type ControlPlane,
  type RunningAgent,
  removeDir,
  startAgent,
  startControlPlane,
  tempDir,
} from '@meshca/test-support/processes'
import { afterAll, beforeAll } from 'vitest'
import { AdminApi, type App, dataplaneYaml, freePort, get, httpApp, until } from './mesh-world.ts'

export const MESH = 'default'

export function builtinMesh(
  options: { mode?: string; expiration?: string; backends?: string[]; enabled?: string } = {}
) {
  const backends = options.backends ?? ['ca-1']
  return {
    type: 'Mesh',
    name: MESH,
    mtls: {
      enabledBackend: options.enabled ?? backends[0],
      backends: backends.map((name) => ({
        name,
        type: 'builtin',
        ...(options.mode === undefined ? {} : { mode: options.mode }),
        ...(options.expiration === undefined
          ? {}
          : { dpCert: { rotation: { expiration: options.expiration } } }),
      })),
    },
  }
}

export type Runtime = 'node' | 'bun'

export interface World {
  readonly dataDir: string
  readonly cpPort: number
  cp: ControlPlane
  readonly api: AdminApi
  readonly apps: { readonly web: App; readonly backend: App }
  readonly ports: {
    readonly webInbound: number
    readonly backendInbound: number
    readonly webOutbound: number
  }
  agents: { web: RunningAgent; backend: RunningAgent }
}

export function startCp(dataDir: string, port: number): Promise<ControlPlane> {
  return startControlPlane({ dataDir, args: ['--port', String(port), '--dp-offline-grace', '60s'] })
}

export async function startBackend(w: Omit<World, 'agents'>, runtime: Runtime = 'node') {
  return startAgent({
    cpUrl: w.api.url,
    token: await w.api.dataplaneToken(MESH, 'backend-1', 'backend'),
    dataplane: dataplaneYaml('backend', {
      port: w.ports.backendInbound,
      servicePort: w.apps.backend.port,
    }),
    vars: { mesh: MESH, name: 'backend-1' },
    runtime,
    args: ['--drain-time', '3s'],
  })
}

export async function startWeb(w: Omit<World, 'agents'>, runtime: Runtime = 'node') {
  return startAgent({
    cpUrl: w.api.url,
    token: await w.api.dataplaneToken(MESH, 'web-1', 'web'),
    dataplane: dataplaneYaml(
      'web',
      { port: w.ports.webInbound, servicePort: w.apps.web.port },
      { port: w.ports.webOutbound, service: 'backend' }
    ),
    vars: { mesh: MESH, name: 'web-1' },
    runtime,
  })
}

/** Everything up, the mesh with builtin mTLS, and web reaching backend. */
export async function startWorld(runtime: Runtime = 'node', mesh = builtinMesh()): Promise<World> {
  const dataDir = tempDir('dataplane')
  const cpPort = await freePort()
  const cp = await startCp(dataDir, cpPort)
  const api = new AdminApi(cp.url)
  await api.put(`/meshes/${MESH}`, mesh)
  const apps = { web: await httpApp('web'), backend: await httpApp('backend') }
  const ports = {
    webInbound: await freePort(),
    backendInbound: await freePort(),
    webOutbound: await freePort(),
  }
  const partial = { dataDir, cpPort, cp, api, apps, ports }
  const agents = {
    backend: await startBackend(partial, runtime),
    web: await startWeb(partial, runtime),
  }
  // The web outbound has an endpoint once backend-1 is online.
  await until(
    () => get(ports.webOutbound),
    (body) => body === 'backend',
    15_000
  )
  return { ...partial, agents }
}

export async function stopWorld(world: World | undefined): Promise<void> {
  if (world === undefined) return
  await Promise.all([world.agents.web.stop('SIGKILL'), world.agents.backend.stop('SIGKILL')])
  await world.cp.stop()
  await Promise.all([world.apps.web.close(), world.apps.backend.close()])
  removeDir(world.dataDir)
}

export async function metrics(agent: RunningAgent): Promise<string> {
  return (await fetch(`${agent.adminUrl}/metrics`)).text()
}

/** A metric's value for the series whose labels include every `k="v"` of `labels` (0 when absent). */
export function sample(text: string, name: string, labels: string): number {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && labels.split(',').every((p) => l.includes(p)))
  return line === undefined ? 0 : Number(line.split(' ').at(-1))
}

/** What the agent's admin port says it serves with. */
export async function agentStatus(agent: RunningAgent) {
  return (await (await fetch(`${agent.adminUrl}/config`)).json()) as {
    ready: boolean
    identity: { backend?: string; supportedBackends?: string[]; expiration?: string } | null
    config: { outbounds: { endpoints: unknown[] }[] } | null
  }
}

/** A world for the tests of one file: started before them, stopped after. */
export function useWorld(runtime: Runtime = 'node', mesh = builtinMesh()): () => World {
  let world: World | undefined
  beforeAll(async () => {
    world = await startWorld(runtime, mesh)
  })
  afterAll(() => stopWorld(world))
  return () => {
    if (world === undefined) throw new Error('the world is not started')
    return world
  }
}
