// Generated from the imports of other folders: the way into io/container/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.

export type { ContainerSummary, ExecProcess } from "./container-runtime.js";
export { ContainerRuntime } from "./container-runtime.js";
export { findJobContainer } from "./job-container.js";
export { findStaleContainers, listOtherJobDirs } from "./stale-containers.js";
