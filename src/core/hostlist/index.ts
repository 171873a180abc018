// Generated from the imports of other folders: the way into core/hostlist/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.

export { expandHostlist } from "./hostlist.js";
export { compressHostlist } from "./hostlist-compress.js";
