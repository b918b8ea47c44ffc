/**
 * @module
 * meshca-dp, the data plane agent. The command is `meshca-dp run` (src/main.ts).
 */
export {}
