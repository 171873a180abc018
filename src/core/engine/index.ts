// Generated from the imports of other folders: the way into core/engine/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.

export type { ContainerEnd, ContainerStatus } from "./container-end.js";
export {
  CONTAINER_STATUS_FORMAT,
  containerEndedDuringJob,
  parseInspectState,
  parseStatusLine,
} from "./container-end.js";
export type { ContainerEvent, ContainerState, EngineRun } from "./container-lifecycle.js";
export { nextContainerState, removalSteps } from "./container-lifecycle.js";
export type { ContainerShape, UserMount } from "./container-shape.js";
export { DEFAULT_SHAPE, resolveShapeMounts, unsupportedMountFlag, userMountArgs } from "./container-shape.js";
export { containerEndedError, serverExitedError, serverSilentError } from "./container-start-errors.js";
export {
  buildJobHolderScript,
  buildSwitchedCommand,
  LIFELINE_FILE,
  MAIN_EXIT_FILE,
  PODMAN_RELEASE_WATCH_SCRIPT,
  PODMAN_RUNTIME_DIR_FILE,
  REMOTE_PORT_FILE,
  SWITCH_MOUNT,
} from "./dead-man-switch.js";
export {
  buildExecConfig,
  containerListPath,
  containerLogsPath,
  describeRequestBody,
  execCreatePath,
  execInspectPath,
  execStartPath,
  imageInspectPath,
  parseContainerList,
  parseCreatedId,
  parseExecState,
  parseImageInspect,
} from "./docker-api-requests.js";
export type { ContainerPlan, ExecPlan, MainProcess, Mount } from "./docker-args.js";
export { buildDockerExecArgs, buildDockerRunArgs, buildMainCommand, execByNames } from "./docker-args.js";
export type { StreamName } from "./docker-stream.js";
export { encodeFrame, looksMultiplexed, StreamDemuxer } from "./docker-stream.js";
export { firstEngineLine, lastEngineLine } from "./engine-messages.js";
export {
  buildContainerName,
  buildLabels,
  RESTART_LABEL,
  sanitizeContainerName,
  selectLabels,
  TOOL_LABEL,
} from "./names.js";
export type { ContainerSummary } from "./ps-json.js";
export { parsePsJson } from "./ps-json.js";
export { recordingScriptPid, SCRIPT_PID_FILE } from "./script-pid.js";
export type { CurrentRun, JobDirLeftover } from "./stale-containers.js";
export { jobIdOf, jobIdsToAsk, selectOtherRuns, selectStale, slurmJobOfEntry } from "./stale-containers.js";
