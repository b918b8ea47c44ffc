import { isRawObject } from './json-reader.ts'
import { decodeKubernetes } from './kubernetes-form.ts'
import type { AnyResource } from './resource.ts'
import { decodeUniversal } from './universal-form.ts'

/** Either form, told apart as `kubectl` and `kumactl` would: only Kubernetes objects have `apiVersion`. */
export function decodeResource(obj: unknown): AnyResource {
  if (isRawObject(obj) && Object.hasOwn(obj, 'apiVersion')) return decodeKubernetes(obj)
  return decodeUniversal(obj)
}
