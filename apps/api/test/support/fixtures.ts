export function dataplane(
  mesh: string,
  name: string,
  tags: Record<string, string>,
  options: { gateway?: 'DELEGATED' | 'BUILTIN' } = {}
) {
  return {
    type: 'Dataplane',
    mesh,
    name,
    networking: {
      address: '10.0.0.1',
      ...(options.gateway === undefined
        ? { inbound: [{ port: 8080, tags }] }
        : { gateway: { tags, ...(options.gateway === 'BUILTIN' ? { type: 'BUILTIN' } : {}) } }),
    },
  }
}

export function trafficPermission(mesh: string, name: string, source: string, destination: string) {
  return {
    type: 'TrafficPermission',
    mesh,
    name,
    sources: [{ match: { 'kuma.io/service': source } }],
    destinations: [{ match: { 'kuma.io/service': destination } }],
  }
}
