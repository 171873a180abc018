// The sweep of what killed runs of this user left on this node (containers, job dirs): a
// process killed before its teardown leaves them. Run once the job runs, off the launch path,
// or earlier when our sshd port is taken (maybe by such a container).
import { jobIdOf, jobIdsToAsk, selectLabels, selectOtherRuns, selectStale } from "../../core/engine/index.js";
import type { ContainerRuntime, ContainerSummary } from "../../io/container/index.js";
import { listOtherJobDirs } from "../../io/container/index.js";
import { removeJobDir } from "../../io/files/index.js";
import type { Logger } from "../../io/process/index.js";
import { activeJobIds } from "../../io/slurm/index.js";

export interface StaleSweep {
  readonly runtime: Pick<ContainerRuntime, "list" | "remove">;
  readonly uid: number;
  readonly log: Logger;
  /** SLURM_JOB_ID of this run: its own containers and dirs are never stale. */
  readonly currentJob: string | undefined;
  /** SLURM_RESTART_COUNT of this run: what the job's other runs left is stale. */
  readonly currentRestart?: number;
  readonly jobsDir: string;
  readonly node: string;
}

/**
 * Removes containers and job dirs of this user's Slurm jobs that have ended, and of other runs
 * of the job running now (it was requeued), with a message. One squeue call covers the ended
 * jobs, and only when there is something to ask about.
 */
export async function removeStaleContainers(sweep: StaleSweep, askActive = activeJobIds): Promise<void> {
  const { runtime, currentJob } = sweep;
  const current = currentJob === undefined ? undefined : { job: currentJob, restart: sweep.currentRestart ?? 0 };
  const [mine, dirs] = await Promise.all([
    runtime.list(selectLabels({ uid: sweep.uid })),
    listOtherJobDirs(sweep.jobsDir, sweep.node, current),
  ]);
  const requeued =
    current === undefined ? { containers: [], dirs: [] } : selectOtherRuns({ containers: mine, dirs }, current);
  const others = mine.filter((c) => jobIdOf(c) !== currentJob);
  const otherDirs = dirs.filter((d) => d.job !== currentJob);
  const ended =
    others.length === 0 && otherDirs.length === 0
      ? { containers: [], dirs: [] }
      : selectStale(
          { containers: others, dirs: otherDirs },
          await askActive(jobIdsToAsk(others, otherDirs)),
          currentJob,
        );
  const say = (list: readonly ContainerSummary[], what: string) => {
    if (list.length > 0)
      sweep.log.info(`removing ${list.length} container(s) left by ${what}: ${list.map((c) => c.name).join(", ")}`);
  };
  say(ended.containers, "ended jobs");
  say(requeued.containers, "an earlier run of this job (requeued)");
  const names = [...ended.containers, ...requeued.containers].map((c) => c.name);
  if (names.length > 0) await runtime.remove(names);
  for (const d of [...ended.dirs, ...requeued.dirs]) await removeJobDir(d.dir).catch(() => undefined);
}
