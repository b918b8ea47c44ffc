/**
 * The rules every answer of the control plane follows, whatever was sent: an answer (no hang, no
 * dropped connection), never a 5xx, Kuma's error body on every 4xx (the plain-text 405 of read-only
 * types aside), and nothing secret to anyone but the admin.
 */
import type { RawAnswer, RawOutcome } from '../support/raw-http.ts'
import type { Probe } from './corpus/probe.ts'

/** What the error body must be: `{title, details, causes?}` and nothing else. */
export function kumaErrorProblem(answer: RawAnswer): string | undefined {
  const contentType = answer.headers['content-type'] ?? ''
  const text = answer.body.toString('utf8')
  if (
    answer.status === 405 &&
    contentType.startsWith('text/plain') &&
    text.includes('is a read-only resource')
  ) {
    return undefined
  }
  if (!contentType.startsWith('application/json')) {
    return `${answer.status} with content-type ${JSON.stringify(contentType)}: ${text.slice(0, 200)}`
  }
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return `${answer.status} body is not JSON: ${text.slice(0, 200)}`
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return `${answer.status} body is not an object: ${text.slice(0, 200)}`
  }
  const { title, details, causes, ...rest } = body as Record<string, unknown>
  const shapeOk =
    typeof title === 'string' &&
    title !== '' &&
    typeof details === 'string' &&
    Object.keys(rest).length === 0 &&
    (causes === undefined ||
      (Array.isArray(causes) &&
        causes.length > 0 &&
        causes.every(
          (cause) =>
            typeof cause === 'object' &&
            cause !== null &&
            typeof (cause as { field?: unknown }).field === 'string' &&
            typeof (cause as { message?: unknown }).message === 'string'
        )))
  return shapeOk
    ? undefined
    : `${answer.status} body is not Kuma's error shape: ${text.slice(0, 300)}`
}

/**
 * A whole PEM private key, raw or inside a JSON string (`\n` escaped): the corpus itself writes the
 * bare header into free-form fields, which is text a user chose to store, not key material.
 */
const PRIVATE_KEY_BLOCK =
  /-----BEGIN [A-Z ]*PRIVATE KEY-----(?:\s|\\n)+[A-Za-z0-9+/=]{32,}(?:[A-Za-z0-9+/=\s]|\\n)*-----END [A-Z ]*PRIVATE KEY-----/

/** Secrets and keys reach nobody but the admin, and keys nobody but their data plane. */
function leakProblem(probe: Probe, answer: RawAnswer): string | undefined {
  const text = answer.body.toString('utf8')
  const dataplaneApi = probe.request.target.includes('/identity')
  if (!dataplaneApi && PRIVATE_KEY_BLOCK.test(text)) return 'the answer holds a private key'
  if (probe.who !== 'admin' && /"type"\s*:\s*"Secret"/.test(text)) {
    return `a Secret answered to ${probe.who}`
  }
  return undefined
}

/** Every problem with the outcome of `probe`; empty when it behaved. */
export function answerProblems(probe: Probe, outcome: RawOutcome, alive: boolean): string[] {
  const problems: string[] = []
  if (!alive) problems.push('the control plane process is gone')
  if (!outcome.ok) return [...problems, outcome.error]
  const { status } = outcome
  const text = () => outcome.body.toString('utf8').slice(0, 300)
  if (status >= 500) problems.push(`${status}: ${text()}`)
  if (status >= 400 && status < 500) {
    const shape = kumaErrorProblem(outcome)
    if (shape !== undefined) problems.push(shape)
  }
  const { statuses, refused, verify } = probe.expect
  if (statuses !== undefined && !statuses.includes(status)) {
    problems.push(`expected ${statuses.join(' or ')}, got ${status}: ${text()}`)
  }
  if (refused === true && status < 400) problems.push(`accepted (${status}) what must be refused`)
  const verified = verify?.(outcome)
  if (verified !== undefined) problems.push(verified)
  const leak = leakProblem(probe, outcome)
  if (leak !== undefined) problems.push(leak)
  return problems
}
