// Generated from the imports of other folders: the way into io/limits/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.

export type { CpuFacts } from "./cpu-facts.js";
export { readCpuFacts } from "./cpu-facts.js";
export { countNodeGpus } from "./nvidia-smi.js";
