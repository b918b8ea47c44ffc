/** Reported by `GET /`; kept in step with package.json. */
export const MESHCA_VERSION = '0.1.0'
/** The Kuma release whose API and behaviour meshca follows (spec header). */
export const KUMA_COMPATIBILITY = '2.2.9'
