// Generated from the imports of other folders: the way into io/agent/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.
export { findAgentProgram } from "./agent-binary.js";
export { runAgentClient } from "./agent-client.js";
export type { InputSource } from "./agent-client-input.js";
export { createInputPump } from "./agent-client-input.js";
export { loadAgentConfig } from "./agent-config-file.js";
export { reachAgent } from "./agent-reach.js";
export { runAgentServer } from "./agent-server.js";
