// Generated from the imports of other folders: the way into core/slurm/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.
export { envlistWarnings, planJobEnv, renderHostfile } from "./job-env.js";
export { checkSegment, jobDirPath, jobStepKey, restartOfJobStepKey } from "./job-paths.js";
export type { JobContext } from "./slurm-context.js";
export { resolveJobContext } from "./slurm-context.js";
export { passedSlurmNames, pickEnv } from "./slurm-env.js";
