// Generated from the imports of other folders: the way into core/limits/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.

export type { ContainerLimits, LimitFacts, LimitsMode, PidsLimit } from "./container-limits.js";
export { describeLimits, limitArgs, logLimitArgs, planNodeLimits } from "./container-limits.js";
export type { GpuPlan } from "./gpus.js";
export { resolveGpus, shouldCountGpus, visibleDevicesEnv } from "./gpus.js";
export { describeMemoryLimit, EXIT_OUT_OF_MEMORY, outOfMemoryError } from "./out-of-memory.js";
