// Looking up what killed runs left on this node: which containers belong to ended Slurm jobs
// (squeue), and which job dirs are there. What counts as stale is core/stale-containers.ts's.
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { type JobDirLeftover, jobIdsToAsk, selectStale, slurmJobOfEntry } from "../core/stale-containers.js";
import type { ContainerSummary } from "./container-runtime.js";
import { activeJobIds } from "./slurm-queue.js";

/** Of `containers`, those whose Slurm job has ended. Unknown state (no squeue): none. */
export async function findStaleContainers(
  containers: readonly ContainerSummary[],
  askActive = activeJobIds,
): Promise<ContainerSummary[]> {
  return selectStale({ containers }, await askActive(jobIdsToAsk(containers))).containers;
}

/** This node's job dirs (jobs/<job>.<step>/<node>) of Slurm jobs other than `currentJob`. */
export async function listOtherJobDirs(
  jobsDir: string,
  node: string,
  currentJob: string | undefined,
): Promise<JobDirLeftover[]> {
  const entries = await readdir(jobsDir).catch(() => [] as string[]);
  const found: JobDirLeftover[] = [];
  for (const entry of entries) {
    const job = slurmJobOfEntry(entry);
    if (job === undefined || job === currentJob) continue;
    const dir = path.join(jobsDir, entry, node);
    const exists = await stat(dir).then(
      () => true,
      () => false,
    );
    if (exists) found.push({ job, dir });
  }
  return found;
}
