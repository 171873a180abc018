// Which leftovers of killed runs are stale: containers and job dirs of Slurm jobs that are no
// longer running, or of an earlier run of the job running now (a requeued job). A container of
// a job that still runs, or whose state is unknown, is never one.
import { RESTART_LABEL, TOOL_LABEL } from "./names.js";
import type { ContainerSummary } from "./ps-json.js";

/** A job dir of this node (jobs/<job>.<step>/<node>) and the Slurm job it belongs to. */
export interface JobDirLeftover {
  readonly job: string;
  /** The run of the job (core/slurm/job-paths.ts's jobStepKey): 0 for its first. */
  readonly restart?: number;
  readonly dir: string;
}

export function jobIdOf(container: ContainerSummary): string {
  return container.labels[`${TOOL_LABEL}.job`] ?? "";
}

/** The run of its job a container belongs to (core/engine/names.ts's restart label): 0 for the first. */
export function restartOf(container: ContainerSummary): number {
  const label = container.labels[RESTART_LABEL];
  return label !== undefined && /^\d+$/.test(label) ? Number(label) : 0;
}

/** The run of a job this process belongs to. */
export interface CurrentRun {
  readonly job: string;
  readonly restart: number;
}

/**
 * Of the leftovers, those of earlier (or other) runs of the job running now: Slurm runs a job
 * once at a time, and requeues it only after its run was ended, so whatever another run of it
 * left (its teardown cut short by the requeue's SIGKILL) is stale. No squeue needed.
 */
export function selectOtherRuns(
  leftovers: { readonly containers: readonly ContainerSummary[]; readonly dirs?: readonly JobDirLeftover[] },
  current: CurrentRun,
): StaleLeftovers {
  const other = (job: string, restart: number) => job === current.job && restart !== current.restart;
  return {
    containers: leftovers.containers.filter((c) => other(jobIdOf(c), restartOf(c))),
    dirs: (leftovers.dirs ?? []).filter((d) => other(d.job, d.restart ?? 0)),
  };
}

/** Only Slurm's numeric job ids can be asked about; `local-...` runs never count as ended. */
function isSlurmJobId(id: string): boolean {
  return /^\d+$/.test(id);
}

/** The Slurm job of a jobs/ entry (`<job>.<step>`); undefined for anything else. */
export function slurmJobOfEntry(entry: string): string | undefined {
  const job = /^([^.]+)\.[^/]+$/.exec(entry)?.[1];
  return job !== undefined && isSlurmJobId(job) ? job : undefined;
}

/** The Slurm job ids squeue must be asked about for these leftovers, once each. */
export function jobIdsToAsk(containers: readonly ContainerSummary[], dirs: readonly JobDirLeftover[] = []): string[] {
  return [...new Set([...containers.map(jobIdOf), ...dirs.map((d) => d.job)])].filter(isSlurmJobId);
}

export interface StaleLeftovers {
  readonly containers: ContainerSummary[];
  readonly dirs: JobDirLeftover[];
}

/**
 * Of the leftovers of jobs other than `currentJob`, those whose Slurm job is not `active`.
 * `active` undefined (squeue could not say): none.
 */
export function selectStale(
  leftovers: { readonly containers: readonly ContainerSummary[]; readonly dirs?: readonly JobDirLeftover[] },
  active: ReadonlySet<string> | undefined,
  currentJob?: string,
): StaleLeftovers {
  if (active === undefined) return { containers: [], dirs: [] };
  const ended = (job: string) => isSlurmJobId(job) && job !== currentJob && !active.has(job);
  return {
    containers: leftovers.containers.filter((c) => ended(jobIdOf(c))),
    dirs: (leftovers.dirs ?? []).filter((d) => ended(d.job)),
  };
}
