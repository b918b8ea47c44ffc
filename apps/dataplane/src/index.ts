/**
 * @module
 * meshca-dp, the data plane agent, for embedding: `new DataplaneAgent(options).start()`. The
 * command is `meshca-dp run` (src/main.ts).
 */
export { type AgentOptions, DataplaneAgent } from './agent.ts'
export { type DataplaneFile, parseDataplane, readDataplaneFile } from './dataplane-file.ts'
export { parseRunOptions, type RunOptions } from './run-options.ts'
