// Generated from the imports of other folders: the way into io/engine/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.

export type { RemovalEngine, RemovalFailure, RemovalOptions } from "./container-removal.js";
export { describeRemovalFailures, removeAllUntilGone } from "./container-removal.js";
export { apiRemovalEngine, cliRemovalEngine } from "./container-removal-engines.js";
export type { ContainerStates, WaitAnswer } from "./container-watch.js";
export { apiContainerStates, cliContainerStates, podmanContainerStates, watchContainerEnd } from "./container-watch.js";
export type { DockerApi } from "./docker-api.js";
export { apiMessage, createDockerApi, defaultDockerApi, waitContainerStopped, withDebugLog } from "./docker-api.js";
export { apiQueries } from "./docker-api-queries.js";
export { resolveWithDockerApi } from "./docker-distribution.js";
export type { Cli, EngineQueries, ExecProcess } from "./engine-queries.js";
export { cliQueries } from "./engine-queries.js";
export type { Lifeline } from "./lifeline.js";
export { holdLifeline } from "./lifeline.js";
export { dockerSawOutOfMemory, stateSaysOom } from "./out-of-memory.js";
export { UserNamespace } from "./podman-pause.js";
