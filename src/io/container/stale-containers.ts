// Looking up what killed runs left on this node: which containers belong to ended Slurm jobs
// (squeue), and which job dirs are there. What counts as stale is core/engine/stale-containers.ts's.
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import {
  type CurrentRun,
  type JobDirLeftover,
  jobIdsToAsk,
  selectStale,
  slurmJobOfEntry,
} from "../../core/engine/index.js";
import { restartOfJobStepKey } from "../../core/slurm/index.js";
import { activeJobIds } from "../slurm/index.js";
import type { ContainerSummary } from "./container-runtime.js";

/** Of `containers`, those whose Slurm job has ended. Unknown state (no squeue): none. */
export async function findStaleContainers(
  containers: readonly ContainerSummary[],
  askActive = activeJobIds,
): Promise<ContainerSummary[]> {
  return selectStale({ containers }, await askActive(jobIdsToAsk(containers))).containers;
}

/** This node's job dirs (jobs/<job>.<step>[.r<N>]/<node>) of Slurm jobs, but those of the run `current`. */
export async function listOtherJobDirs(
  jobsDir: string,
  node: string,
  current: CurrentRun | undefined,
): Promise<JobDirLeftover[]> {
  const entries = await readdir(jobsDir).catch(() => [] as string[]);
  const found: JobDirLeftover[] = [];
  for (const entry of entries) {
    const job = slurmJobOfEntry(entry);
    const restart = restartOfJobStepKey(entry);
    if (job === undefined || (job === current?.job && restart === current.restart)) continue;
    const dir = path.join(jobsDir, entry, node);
    const exists = await stat(dir).then(
      () => true,
      () => false,
    );
    if (exists) found.push({ job, restart, dir });
  }
  return found;
}
