/**
 * A load client, a child process of its own so it does not share an event loop (or a core's
 * scheduling) with the bench's parent. It takes one job at a time over IPC and answers with its
 * figures and its own CPU use over the job, as a share of one core.
 *
 * - `connections`: `concurrency` workers each open a connection, send a small request (`E` and 63
 *   bytes), read the 63-byte echo, close, and start over, for `seconds` after `warmup` seconds.
 * - `bulk`: `concurrency` connections each push 64 KiB writes into the app's sink (`S`) as fast as
 *   the socket drains, for `warmup + seconds`; the parent measures the bytes the sink took.
 * - `latency`: `rate` requests/s of 64 bytes over `concurrency` keep-alive echo connections on an
 *   open-loop schedule; each latency runs from the request's scheduled time, so a stall delays the
 *   requests that should have gone meanwhile (no coordinated omission).
 */
import { connect, type Socket } from 'node:net'

export type Job =
  | {
      readonly kind: 'connections'
      readonly port: number
      readonly concurrency: number
      readonly warmup: number
      readonly seconds: number
    }
  | {
      readonly kind: 'bulk'
      readonly port: number
      readonly concurrency: number
      readonly seconds: number
    }
  | {
      readonly kind: 'latency'
      readonly port: number
      readonly concurrency: number
      readonly rate: number
      readonly warmup: number
      readonly seconds: number
    }

export interface JobResult {
  /** connections: completed in the window; latency: requests answered in the window. */
  readonly count: number
  readonly errors: number
  readonly firstError?: string | undefined
  /** Seconds the window lasted. */
  readonly elapsed: number
  /** latency: milliseconds from each request's scheduled time, sorted ascending (window only). */
  readonly latencies?: number[]
  /**
   * latency: milliseconds from the moment the request was written, sorted ascending: without the
   * client's own timer lateness (up to a millisecond: Node's timers tick in whole milliseconds).
   */
  readonly serviceLatencies?: number[]
  /** latency: requests scheduled in the window but not answered by the end. */
  readonly unanswered?: number | undefined
  /** The client's CPU over the job, as a share of one core. */
  readonly cpu: number
}

const HOST = '127.0.0.1'
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port, noDelay: true })
    socket.once('connect', () => {
      socket.off('error', reject)
      resolve(socket)
    })
    socket.once('error', reject)
  })
}

const REQUEST = Buffer.concat([Buffer.from('E'), Buffer.alloc(63, 0x61)])

/** One new connection: request, 63-byte echo, close. */
function oneConnection(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port, noDelay: true })
    let got = 0
    let done = false
    const finish = (error?: Error) => {
      if (done) return
      done = true
      socket.destroy()
      if (error) reject(error)
      else resolve()
    }
    socket.once('connect', () => socket.write(REQUEST))
    socket.on('data', (chunk: Buffer) => {
      got += chunk.length
      if (got >= REQUEST.length - 1) finish()
    })
    socket.once('error', finish)
    socket.once('close', () => finish(new Error(`closed after ${got} of 63 bytes`)))
    socket.setTimeout(10_000, () => finish(new Error('no answer within 10 s')))
  })
}

async function connections(job: Extract<Job, { kind: 'connections' }>) {
  const start = performance.now()
  const windowStart = start + job.warmup * 1000
  const end = windowStart + job.seconds * 1000
  let count = 0
  let errors = 0
  let firstError: string | undefined
  const worker = async () => {
    while (performance.now() < end) {
      try {
        await oneConnection(job.port)
        const now = performance.now()
        if (now >= windowStart && now < end) count++
      } catch (error) {
        errors++
        firstError ??= String(error)
        await sleep(10)
      }
    }
  }
  await Promise.all(Array.from({ length: job.concurrency }, worker))
  return { count, errors, firstError, elapsed: (end - windowStart) / 1000 }
}

const CHUNK = Buffer.alloc(64 * 1024, 0x62)

async function bulk(job: Extract<Job, { kind: 'bulk' }>) {
  const end = performance.now() + job.seconds * 1000
  let errors = 0
  let firstError: string | undefined
  let written = 0
  const push = async () => {
    let socket: Socket
    try {
      socket = await open(job.port)
    } catch (error) {
      errors++
      firstError ??= String(error)
      return
    }
    socket.on('error', (error) => {
      errors++
      firstError ??= String(error)
    })
    socket.write('S')
    while (performance.now() < end && !socket.destroyed) {
      written += CHUNK.length
      if (!socket.write(CHUNK)) {
        await new Promise<void>((resolve) => {
          socket.once('drain', resolve)
          socket.once('close', resolve)
        })
      }
    }
    socket.destroy()
  }
  await Promise.all(Array.from({ length: job.concurrency }, push))
  return { count: written, errors, firstError, elapsed: job.seconds }
}

const MESSAGE = 64

async function latency(job: Extract<Job, { kind: 'latency' }>) {
  const sockets = await Promise.all(Array.from({ length: job.concurrency }, () => open(job.port)))
  const interval = 1000 / job.rate
  const start = performance.now() + 20
  const windowStart = start + job.warmup * 1000
  const end = windowStart + job.seconds * 1000
  const latencies: number[] = []
  const serviceLatencies: number[] = []
  let errors = 0
  let firstError: string | undefined
  let unanswered = 0
  /** Per connection, [scheduled, written] of each request awaiting its answer. */
  const pending = sockets.map(() => [] as [number, number][])
  const payload = Buffer.alloc(MESSAGE, 0x63)
  sockets.forEach((socket, i) => {
    const queue = pending[i] ?? []
    let bytes = 0
    socket.write('E')
    socket.on('data', (chunk: Buffer) => {
      const now = performance.now()
      bytes += chunk.length
      while (bytes >= MESSAGE) {
        bytes -= MESSAGE
        const [scheduled, written] = queue.shift() ?? [Number.NaN, Number.NaN]
        if (scheduled >= windowStart && scheduled < end) {
          latencies.push(now - scheduled)
          serviceLatencies.push(now - written)
        }
      }
    })
    socket.on('error', (error) => {
      errors++
      firstError ??= String(error)
    })
  })
  let n = 0
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now()
      for (;;) {
        const scheduled = start + n * interval
        if (scheduled > now || scheduled >= end) break
        const i = n % sockets.length
        pending[i]?.push([scheduled, now])
        sockets[i]?.write(payload)
        n++
      }
      const next = start + n * interval
      if (next >= end) resolve()
      else setTimeout(tick, Math.max(0, next - performance.now()))
    }
    setTimeout(tick, Math.max(0, start - performance.now()))
  })
  // The answers still under way: up to 2 s, then what is left counts as unanswered.
  const drainEnd = performance.now() + 2000
  while (pending.some((q) => q.length > 0) && performance.now() < drainEnd) await sleep(5)
  for (const queue of pending) {
    unanswered += queue.filter(([t]) => t >= windowStart && t < end).length
  }
  for (const socket of sockets) socket.destroy()
  latencies.sort((a, b) => a - b)
  serviceLatencies.sort((a, b) => a - b)
  return {
    serviceLatencies,
    count: latencies.length,
    errors,
    firstError,
    elapsed: job.seconds,
    latencies,
    unanswered,
  }
}

async function run(job: Job): Promise<JobResult> {
  const cpuBefore = process.cpuUsage()
  const wallBefore = performance.now()
  const result =
    job.kind === 'connections'
      ? await connections(job)
      : job.kind === 'bulk'
        ? await bulk(job)
        : await latency(job)
  const cpu = process.cpuUsage(cpuBefore)
  const wall = (performance.now() - wallBefore) * 1000
  return { ...result, cpu: (cpu.user + cpu.system) / wall }
}

process.on('message', (message: { id: number; job: Job }) => {
  run(message.job).then(
    (result) => process.send?.({ id: message.id, result }),
    (error: unknown) => process.send?.({ id: message.id, error: String(error) })
  )
})
process.on('disconnect', () => process.exit(0))
process.on('SIGTERM', () => process.exit(0))
process.on('SIGINT', () => process.exit(0))
process.send?.({ ready: true })
