/**
 * Bodies over the 1 MiB limit, announced (Content-Length) or streamed (chunked), or announced far
 * larger than what follows; and a body exactly at the limit, which must be read (not a 413).
 */

import type { RawBody } from '../../support/raw-http.ts'
import { BODY_ROUTES, callerFor, targetName } from './body-routes.ts'
import type { CorpusContext, Probe } from './probe.ts'
import { withCredentials } from './probe.ts'

const LIMIT = 1024 * 1024

/** A JSON text of exactly `size` bytes: the valid body with a padding field. */
function padded(base: Record<string, unknown>, size: number): Buffer {
  const empty = JSON.stringify({ ...base, pad: '' })
  return Buffer.from(JSON.stringify({ ...base, pad: 'x'.repeat(Math.max(0, size - empty.length)) }))
}

interface Shape {
  readonly label: string
  body(base: Record<string, unknown>): RawBody
  /** `undefined`: under the limit, any answer that follows the general rules. */
  readonly status?: number
}

const SHAPES: readonly Shape[] = [
  {
    label: 'announced 1 MiB + 1',
    body: (base) => ({ kind: 'bytes', data: padded(base, LIMIT + 1) }),
    status: 413,
  },
  {
    label: 'chunked 2 MiB',
    body: (base) => {
      const data = padded(base, 2 * LIMIT)
      const chunks: Buffer[] = []
      for (let at = 0; at < data.length; at += 64 * 1024)
        chunks.push(data.subarray(at, at + 64 * 1024))
      return { kind: 'chunked', chunks }
    },
    status: 413,
  },
  {
    label: 'chunked in 1-byte chunks past the limit',
    body: () => ({
      kind: 'chunked',
      chunks: [
        Buffer.alloc(LIMIT - 8, 0x20),
        ...Array.from({ length: 16 }, () => Buffer.from(' ')),
      ],
    }),
    status: 413,
  },
  {
    label: 'announced 10 GiB, 1 KiB sent',
    body: (base) => ({ kind: 'announced', length: 10 * 1024 * LIMIT, data: padded(base, 1024) }),
    status: 413,
  },
  {
    label: 'exactly 1 MiB',
    body: (base) => ({ kind: 'bytes', data: padded(base, LIMIT) }),
  },
]

export function oversizedProbes(context: CorpusContext): Probe[] {
  return BODY_ROUTES.flatMap((route) =>
    SHAPES.map((shape): Probe => {
      const name = targetName(route, context)
      const { who, anonymous } = callerFor(route, context)
      return {
        family: 'oversized bodies',
        label: `${route.method} ${route.path(name)}: ${shape.label}`,
        who,
        request: {
          method: route.method,
          target: route.path(name),
          headers: withCredentials(context.tokens, who, { 'content-type': 'application/json' }),
          body: shape.body(route.base(name, context)),
        },
        expect:
          shape.status === undefined
            ? (anonymous ?? {})
            : { statuses: anonymous?.statuses ?? [shape.status] },
      }
    })
  )
}
