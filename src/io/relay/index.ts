// Generated from the imports of other folders: the way into io/relay/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.
export { fetchFromRelay } from "./relay-client.js";
export type { RelayServer } from "./relay-server.js";
export { startRelayServer } from "./relay-server.js";
