import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { AppEnv } from '../context.ts'

/**
 * A `text/plain` response with the header set explicitly: Hono leaves a bare `c.text()` to the
 * runtime's default, which Bun does not always fill in.
 */
export function plainText(
  c: Context<AppEnv>,
  text: string,
  status: ContentfulStatusCode = 200
): Response {
  return c.text(text, status, { 'content-type': 'text/plain; charset=UTF-8' })
}
