// Generated from the imports of other folders: the way into core/rendezvous/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.

export type { RendezvousFailure } from "./rendezvous-failure.js";
export { describeRendezvousFailure } from "./rendezvous-failure.js";
export type { MasterInput, MasterState } from "./rendezvous-master-state.js";
export { isShuttingDown, nextMasterState } from "./rendezvous-master-state.js";
export type { ImageAnnouncement, MasterMessage, WorkerMessage } from "./rendezvous-protocol.js";
export {
  encodeMessage,
  messageFrameLimit,
  PROTOCOL_VERSION,
  parseHelloAbout,
  parseMasterMessage,
  parseWelcomeAbout,
  parseWorkerMessage,
  RENDEZVOUS_MESSAGE,
  toWireExitCode,
} from "./rendezvous-protocol.js";
export type { NodeState, ReadyWorker, Roster } from "./rendezvous-roster.js";
export {
  createRoster,
  listMissingWorkers,
  listReadyWorkers,
  listUnreachedNodes,
  refuseHello,
} from "./rendezvous-roster.js";
export type { WorkerInput, WorkerOutcome, WorkerState } from "./rendezvous-worker-state.js";
export { checkMasterSilence, nextWorkerState } from "./rendezvous-worker-state.js";
