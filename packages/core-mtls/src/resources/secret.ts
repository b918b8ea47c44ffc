/** A Secret's payload: raw bytes, base64 (`data`) in every JSON or YAML form. */
export interface SecretSpec {
  readonly data: Uint8Array
}
