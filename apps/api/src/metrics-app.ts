import { Hono } from 'hono'
import type { Registry } from 'prom-client'

/**
 * The metrics port: `/metrics` for Prometheus and `/ready` for probes. Kept off the API port so that
 * scraping never needs an admin token and never competes with data planes for the API's listener.
 */
export function createMetricsApp(registry: Registry): Hono {
  const app = new Hono()
  app.get('/metrics', async (c) => {
    const body = await registry.metrics()
    return c.body(body, 200, { 'content-type': registry.contentType })
  })
  app.get('/ready', (c) => c.text('ok'))
  app.notFound((c) => c.text('not found: try /metrics', 404))
  return app
}
