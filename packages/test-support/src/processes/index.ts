/**
 * @module
 * The product as a user runs it, as child processes: the control plane, the rotation daemon, the
 * `meshca` CLI and the `meshca-dp` data plane agent.
 */
export * from './control-plane.ts'
export * from './dataplane-agent.ts'
