/**
 * Kuma's tag and selector rules (`validateTagKeyValues` in `validators.go`). Tags on a Dataplane take
 * plain values; selectors in policies may also use `*`. Keys are checked in sorted order so that
 * violations come out in a stable order (Kuma sorts them too).
 */
import { SERVICE_TAG } from './dataplane.ts'
import { keyPath } from './json-reader.ts'

export interface TagRuleOptions {
  readonly requireAtLeastOneTag?: boolean
  readonly requireService?: boolean
}

type Report = (field: string, message: string) => void

const TAG_NAME = /^[a-zA-Z0-9.\-_:/]*$/
const TAG_VALUE = /^[a-zA-Z0-9.\-_:]*$/
const SELECTOR_VALUE = /^([a-zA-Z0-9.\-_:/]*|\*)$/

const TAG_NAME_MESSAGE =
  'tag name must consist of alphanumeric characters, dots, dashes, slashes and underscores'
const TAG_VALUE_MESSAGE =
  'tag value must consist of alphanumeric characters, dots, dashes and underscores'
const SELECTOR_VALUE_MESSAGE =
  'tag value must consist of alphanumeric characters, dots, dashes, slashes and underscores or be "*"'

/** Tags a Dataplane declares (`ValidateTags`). */
export function checkTags(
  path: string,
  tags: Readonly<Record<string, string>>,
  options: TagRuleOptions,
  report: Report
): void {
  checkKeyValues(path, tags, options, TAG_VALUE, TAG_VALUE_MESSAGE, report)
}

/** Tags a policy matches on (`ValidateSelector`), where `*` matches any value. */
export function checkSelector(
  path: string,
  match: Readonly<Record<string, string>>,
  options: TagRuleOptions,
  report: Report
): void {
  checkKeyValues(path, match, options, SELECTOR_VALUE, SELECTOR_VALUE_MESSAGE, report)
}

function checkKeyValues(
  path: string,
  tags: Readonly<Record<string, string>>,
  options: TagRuleOptions,
  valuePattern: RegExp,
  valueMessage: string,
  report: Report
): void {
  const keys = Object.keys(tags).sort()
  if (options.requireAtLeastOneTag && keys.length === 0) report(path, 'must have at least one tag')
  for (const key of keys) {
    if (key === '') report(path, 'tag name must be non-empty')
    if (!TAG_NAME.test(key)) report(keyPath(path, key), TAG_NAME_MESSAGE)
    const value = tags[key] ?? ''
    if (value === '') report(keyPath(path, key), 'tag value must be non-empty')
    if (!valuePattern.test(value)) report(keyPath(path, key), valueMessage)
  }
  if (options.requireService && !Object.hasOwn(tags, SERVICE_TAG)) {
    report(path, `mandatory tag "${SERVICE_TAG}" is missing`)
  }
}
