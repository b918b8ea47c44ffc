/**
 * When a data plane certificate is replaced: after 4/5 of its lifetime (Kuma's rule, integer
 * arithmetic as in Go: lifetime / 5 * 4), then a random delay within a window so that a fleet
 * issued together does not renew together (decision 18 of docs/decisions.md).
 */

/** Default jitter window: 5 % of the lifetime, so rotation stays between 80 % and 85 %. */
export const DEFAULT_ROTATION_JITTER = 0.05

export interface RotationInput {
  /** When the certificate was produced (Kuma's `Info.Generation`), not its backdated NotBefore. */
  readonly generation: Date
  /** The certificate's NotAfter. */
  readonly expiration: Date
  /** Fraction of the lifetime over which rotation is spread, in [0, 0.2]. */
  readonly jitter?: number
  /** A uniform number in [0, 1); injected so tests are deterministic. */
  readonly unit?: number
}

export function rotationInstant(input: RotationInput): Date {
  const generation = input.generation.getTime()
  const lifetime = Math.max(0, input.expiration.getTime() - generation)
  const base = generation + Math.floor(lifetime / 5) * 4
  // A NaN from a bad setting would make the instant Invalid Date and the certificate never rotate.
  const jitter = Number.isFinite(input.jitter) ? Math.min(Math.max(input.jitter ?? 0, 0), 0.2) : 0
  const unit = Number.isFinite(input.unit) ? Math.min(Math.max(input.unit ?? 0, 0), 1) : 0
  return new Date(base + Math.floor(unit * jitter * lifetime))
}

/** Kuma's `ExpiringSoon`, with the same jitter: true once `now` is past the rotation instant. */
export function shouldRotate(now: Date, input: RotationInput): boolean {
  return now.getTime() > rotationInstant(input).getTime()
}
