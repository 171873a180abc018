// The sweep of what killed runs of this user left on this node (containers, job dirs): a
// process killed before its teardown leaves them. Run once the job runs, off the launch path,
// or earlier when our sshd port is taken (maybe by such a container).
import { selectLabels } from "../../core/names.js";
import { jobIdOf, jobIdsToAsk, selectStale } from "../../core/stale-containers.js";
import type { ContainerRuntime } from "../../io/container-runtime.js";
import { removeJobDir } from "../../io/job-files.js";
import type { Logger } from "../../io/log.js";
import { activeJobIds } from "../../io/slurm-queue.js";
import { listOtherJobDirs } from "../../io/stale-containers.js";

export interface StaleSweep {
  readonly runtime: Pick<ContainerRuntime, "list" | "remove">;
  readonly uid: number;
  readonly log: Logger;
  /** SLURM_JOB_ID of this run: its own containers and dirs are never stale. */
  readonly currentJob: string | undefined;
  readonly jobsDir: string;
  readonly node: string;
}

/**
 * Removes containers and job dirs of this user's Slurm jobs that have ended, with a message.
 * One squeue call covers both, and only when there is something to ask about.
 */
export async function removeStaleContainers(sweep: StaleSweep, askActive = activeJobIds): Promise<void> {
  const { runtime, currentJob } = sweep;
  const [mine, dirs] = await Promise.all([
    runtime.list(selectLabels({ uid: sweep.uid })),
    listOtherJobDirs(sweep.jobsDir, sweep.node, currentJob),
  ]);
  const others = mine.filter((c) => jobIdOf(c) !== currentJob);
  if (others.length === 0 && dirs.length === 0) return;
  const stale = selectStale({ containers: others, dirs }, await askActive(jobIdsToAsk(others, dirs)), currentJob);
  if (stale.containers.length > 0) {
    const names = stale.containers.map((c) => c.name);
    sweep.log.info(`removing ${names.length} container(s) left by ended jobs: ${names.join(", ")}`);
    await runtime.remove(names);
  }
  for (const d of stale.dirs) await removeJobDir(d.dir).catch(() => undefined);
}
