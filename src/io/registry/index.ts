// Generated from the imports of other folders: the way into io/registry/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.

export type { ResolveResult, ResolveStep, RetryOptions } from "./registry-client.js";
export { resolveFromRegistry, retryResolution, sayWhoAsked } from "./registry-client.js";
export { readEngineCredentials } from "./registry-credentials.js";
