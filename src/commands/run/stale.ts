// Containers (and job dirs) of this user on this node whose Slurm job is no longer running: left by a
// process that was killed before it could clean up. They are removed with a message; a
// container of a job that still runs is never touched.
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { selectLabels, TOOL_LABEL } from "../../core/names.js";
import type { ContainerRuntime, ContainerSummary } from "../../io/container-runtime.js";
import { runCommand } from "../../io/exec.js";
import { removeJobDir } from "../../io/job-files.js";
import type { Logger } from "../../io/log.js";

/** Slurm job ids that are still pending or running (any user may query this). */
export async function activeJobIds(ids: readonly string[], run = runCommand): Promise<Set<string> | undefined> {
  if (ids.length === 0) return new Set();
  const r = await run("squeue", ["-h", "-o", "%A", "-t", "PD,R,CG,S,CF,RS", "-j", ids.join(",")], {
    timeoutMs: 15_000,
  }).catch(() => undefined);
  if (r === undefined) return undefined;
  // squeue fails with "Invalid job id" when none of the ids is known any more: all ended.
  if (r.exitCode !== 0) return /invalid job id/i.test(r.stderr) ? new Set() : undefined;
  return new Set(r.stdout.split(/\s+/).filter(Boolean));
}

const jobOf = (c: ContainerSummary): string => c.labels[`${TOOL_LABEL}.job`] ?? "";
/** Only Slurm's numeric job ids can be asked about; `local-...` runs never count as ended. */
const isSlurmJobId = (id: string): boolean => /^\d+$/.test(id);

/** Of `containers`, those of Slurm jobs not in `active`. */
function endedOf(containers: readonly ContainerSummary[], active: ReadonlySet<string>): ContainerSummary[] {
  return containers.filter((c) => isSlurmJobId(jobOf(c)) && !active.has(jobOf(c)));
}

/** Of `containers`, those whose Slurm job has ended. Unknown state (no squeue): none. */
export async function findStale(
  containers: readonly ContainerSummary[],
  run = runCommand,
): Promise<ContainerSummary[]> {
  const active = await activeJobIds([...new Set(containers.map(jobOf).filter(isSlurmJobId))], run);
  return active === undefined ? [] : endedOf(containers, active);
}

/** This node's job dirs (jobs/<job>.<step>/<node>) of Slurm jobs other than `currentJob`. */
async function listOtherJobDirs(
  jobsDir: string,
  node: string,
  currentJob: string | undefined,
): Promise<Array<{ job: string; dir: string }>> {
  const entries = await readdir(jobsDir).catch(() => [] as string[]);
  const found: Array<{ job: string; dir: string }> = [];
  for (const entry of entries) {
    const job = /^([^.]+)\.[^/]+$/.exec(entry)?.[1];
    if (job === undefined || !isSlurmJobId(job) || job === currentJob) continue;
    const dir = path.join(jobsDir, entry, node);
    if (
      await stat(dir).then(
        () => true,
        () => false,
      )
    )
      found.push({ job, dir });
  }
  return found;
}

/**
 * Removes what killed runs of this user left on this node: containers and job dirs of Slurm
 * jobs that have ended. One squeue call covers both, and only when there is something to ask.
 */
export async function removeStaleContainers(
  runtime: ContainerRuntime,
  uid: number,
  log: Logger,
  env: NodeJS.ProcessEnv,
  jobsDir: string,
  node: string,
): Promise<void> {
  const [mine, dirs] = await Promise.all([
    runtime.list(selectLabels({ uid })),
    listOtherJobDirs(jobsDir, node, env.SLURM_JOB_ID),
  ]);
  const others = mine.filter((c) => jobOf(c) !== env.SLURM_JOB_ID);
  if (others.length === 0 && dirs.length === 0) return;
  const ids = [...new Set([...others.map(jobOf), ...dirs.map((d) => d.job)])].filter(isSlurmJobId);
  const active = await activeJobIds(ids);
  if (active === undefined) return;
  const stale = endedOf(others, active);
  if (stale.length > 0) {
    log.info(`removing ${stale.length} container(s) left by ended jobs: ${stale.map((c) => c.name).join(", ")}`);
    await runtime.remove(stale.map((c) => c.name));
  }
  for (const d of dirs.filter((d) => !active.has(d.job))) await removeJobDir(d.dir).catch(() => undefined);
}
