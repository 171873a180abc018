// Generated from the imports of other folders: the way into core/agent/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.

export type { AgentConfig } from "./agent-config.js";
export { AGENT_CONFIG_VARIABLE, AGENT_CONFIG_VERSION, parseAgentConfig } from "./agent-config.js";
export type { ControlFrameType, ControlMessage, ExecRequest, ExitStatus, ForwardableSignal } from "./agent-messages.js";
export {
  AGENT_PROTOCOL_VERSION,
  clientFrameLimit,
  encodeControl,
  parseControl,
  STDIN_WINDOW_BYTES,
  serverFrameLimit,
} from "./agent-messages.js";
export type { AgentProgram } from "./agent-plan.js";
export {
  AGENT_BIN_DIR,
  AGENT_BUNDLE_PATH,
  AGENT_LAUNCHER_FILE,
  AGENT_NODE_PATH,
  AGENT_SERVER_PATH,
  agentContainerEnv,
  agentEntry,
  agentJobFiles,
  agentMounts,
  renderAgentConfig,
  requireAgentProgram,
} from "./agent-plan.js";
export type { ServerInput, ServerState, StdinWindow } from "./agent-server-state.js";
export {
  FRESH_STDIN_WINDOW,
  nextServerState,
  receivePhaseOf,
  receiveStdin,
  takeStdin,
} from "./agent-server-state.js";
export type { ClientEnding, ClientInput, ClientState, LocalSignal, PassedOnSignal } from "./agent-session-state.js";
export { clientEnding, clientExitCode, EXIT_SSH_FAILURE, nextClientState } from "./agent-session-state.js";
export type { AgentSpawnPlan } from "./agent-spawn-plan.js";
export { buildAgentSpawn, SESSION_MARKER_VARIABLE, withSessionDefaults } from "./agent-spawn-plan.js";
export type { GreetingService } from "./greetings.js";
export { checkGreeting } from "./greetings.js";
