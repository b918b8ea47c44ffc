/** Address syntax as Kuma's validators check it. */
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/

/** Go's `net.ParseIP`: dotted IPv4 without leading zeros, or IPv6 without a zone. */
export function isIp(text: string): boolean {
  if (IPV4.test(text)) return true
  if (!text.includes(':') || /[^0-9a-fA-F:.]/.test(text)) return false
  try {
    new URL(`http://[${text}]/`)
    return true
  } catch {
    return false
  }
}

const DNS_NAME = /^([a-zA-Z0-9_][a-zA-Z0-9_-]{0,62})(\.[a-zA-Z0-9_][a-zA-Z0-9_-]{0,62})*[._]?$/

/** govalidator's `IsDNSName`, which Kuma uses for addresses. */
export function isDnsName(text: string): boolean {
  if (text === '' || text.replaceAll('.', '').length > 255) return false
  return !isIp(text) && DNS_NAME.test(text)
}
