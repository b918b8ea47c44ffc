/** Kuma's error titles, one per operation (`pkg/api-server/resource_endpoints.go`). */
export const TITLES = {
  get: 'Could not retrieve a resource',
  list: 'Could not retrieve resources',
  process: 'Could not process a resource',
  create: 'Could not create a resource',
  update: 'Could not update a resource',
  delete: 'Could not delete a resource',
  token: 'Could not issue a token',
  revoke: 'Could not revoke a token',
  identity: 'Could not issue a data plane identity',
  config: 'Could not serve the data plane configuration',
} as const
