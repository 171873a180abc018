// Generated from the imports of other folders: the way into core/relay/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.
export { createArchiveNameStripper } from "./archive-names.js";
export type { RelayFetchInput, RelayFetchState } from "./relay-fetch-state.js";
export { nextRelayFetchState, RELAY_FETCH_START } from "./relay-fetch-state.js";
export type { RelayFrameType, RelayReceivePhase } from "./relay-protocol.js";
export {
  encodeRelayControl,
  encodeRelayHeader,
  parseRelayControl,
  RELAY_PROTOCOL_VERSION,
  RelayFrame,
  relayServerFrameLimit,
} from "./relay-protocol.js";
export type { RelayOffer, RelayServeInput, RelayServeState } from "./relay-serve-state.js";
export { nextRelayServeState, planWaitPing } from "./relay-serve-state.js";
export { relayParents } from "./relay-tree.js";
