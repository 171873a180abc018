// Generated from the imports of other folders: the way into core/slurm-relay/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.

export type { RelayConnectionInput, RelayConnectionState } from "./relay-connection-state.js";
export { nextRelayConnectionState, relayReceivePhaseOf } from "./relay-connection-state.js";
export { SLURM_RELAY_SOCKET, SLURM_RELAY_VARIABLE, slurmCommandMounts } from "./slurm-relay-mounts.js";
export type { ClientPlan, HostCommand } from "./slurm-relay-plan.js";
export { planHostCommand, planSlurmRequest, readsStdin } from "./slurm-relay-plan.js";
export type { RelayReceivePhase, SlurmCommand, SlurmRequest } from "./slurm-relay-protocol.js";
export {
  encodeSlurmRequest,
  isSlurmCommand,
  parseSlurmRequest,
  relayClientFrameLimit,
  relayServerFrameLimit,
  SLURM_COMMAND_FRAME,
  SLURM_COMMANDS,
  SLURM_RELAY_PROTOCOL_VERSION,
} from "./slurm-relay-protocol.js";
