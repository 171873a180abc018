// Generated from the imports of other folders: the way into io/slurm/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.

export { withNodeLock } from "./node-lock.js";
export { activeJobIds } from "./slurm-queue.js";
export { SrunNodeFiles } from "./srun-node-files.js";
