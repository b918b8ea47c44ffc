/**
 * Who a request acts as (Kuma's `apiServer.authn`): the user of a valid bearer user token; else the
 * admin for a request from the loopback address when `localhostIsAdmin` is on; else anonymous. A
 * token that is sent but not valid is a 401 even from localhost: the caller meant to be someone.
 */
import { isMeshcaError, type Logger, MeshcaError, type UserTokens } from '@meshca/core-mtls'
import type { MiddlewareHandler } from 'hono'
import { ADMIN_USER, ANONYMOUS_USER, type AppEnv } from '../context.ts'

/** The peer address of a request, which only the runtime adapter knows. */
export type RemoteAddress = (env: unknown, request: Request) => string | undefined

/** `env.remoteAddress`: what the Bun entry passes, and what tests pass to `app.request`. */
export const remoteAddressFromEnv: RemoteAddress = (env) => {
  if (typeof env !== 'object' || env === null) return undefined
  const address = (env as { readonly remoteAddress?: unknown }).remoteAddress
  return typeof address === 'string' ? address : undefined
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1'])

export function isLoopback(address: string | undefined): boolean {
  return address !== undefined && LOOPBACK.has(address)
}

export interface AuthenticateOptions {
  readonly userTokens: UserTokens
  readonly localhostIsAdmin: boolean
  readonly remoteAddress: RemoteAddress
  readonly logger: Logger
}

export function authenticate(options: AuthenticateOptions): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const authorization = c.req.header('authorization')
    if (authorization !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization)
      if (!match?.[1]) {
        throw new MeshcaError('UNAUTHENTICATED', 'the Authorization header is not a Bearer token')
      }
      try {
        const claims = await options.userTokens.verify(match[1])
        c.set('user', { name: claims.name, groups: claims.groups })
      } catch (error) {
        if (isMeshcaError(error, 'UNAUTHENTICATED')) {
          options.logger.log('debug', 'user token refused', { reason: error.message })
        }
        throw error
      }
    } else if (options.localhostIsAdmin && isLoopback(options.remoteAddress(c.env, c.req.raw))) {
      c.set('user', ADMIN_USER)
    } else {
      c.set('user', ANONYMOUS_USER)
    }
    await next()
  }
}
