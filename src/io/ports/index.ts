// Generated from the imports of other folders: the way into io/ports/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.
export { isPortFree } from "./port-probe.js";
export { listenTcpFallback } from "./tcp-listen.js";
