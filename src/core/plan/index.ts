// Generated from the imports of other folders: the way into core/plan/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.

export type { ConfigLayer } from "./config-file.js";
export { parseConfigFile } from "./config-file.js";
export { dryRunStandIns, renderDryRun, renderTaskDryRun } from "./dry-run.js";
export type { DaemonUsers } from "./home-access.js";
export { adviseHome, parseDaemonUsers } from "./home-access.js";
export type { NodePlan, RemoteService } from "./node-plan.js";
export { execUser, planNode, remoteKindOf, withEntrypoint } from "./node-plan.js";
export type { JobKeys, NodePlanInput, NodePlanOptions } from "./node-plan-input.js";
export type { PlannedFile } from "./planned-file.js";
export type { TaskContext } from "./task-context.js";
export { checkTaskMpi, resolveTaskContext } from "./task-context.js";
export { boundCpuList, buildTaskExec, taskPidName } from "./task-exec.js";
