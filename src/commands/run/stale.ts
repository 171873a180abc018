// Containers of this user on this node whose Slurm job is no longer running: left by a
// process that was killed before it could clean up. They are removed with a message; a
// container of a job that still runs is never touched.
import { TOOL_LABEL, selectLabels } from "../../core/names.js";
import type { ContainerRuntime, ContainerSummary } from "../../io/container-runtime.js";
import { runCommand } from "../../io/exec.js";
import type { Logger } from "../../io/log.js";

/** Slurm job ids that are still pending or running (any user may query this). */
export async function activeJobIds(ids: readonly string[], run = runCommand): Promise<Set<string> | undefined> {
  if (ids.length === 0) return new Set();
  const r = await run("squeue", ["-h", "-o", "%A", "-t", "PD,R,CG,S,CF,RS", "-j", ids.join(",")], { timeoutMs: 15_000 }).catch(
    () => undefined,
  );
  if (r === undefined) return undefined;
  // squeue fails with "Invalid job id" when none of the ids is known any more: all ended.
  if (r.exitCode !== 0) return /invalid job id/i.test(r.stderr) ? new Set() : undefined;
  return new Set(r.stdout.split(/\s+/).filter(Boolean));
}

/** Of `containers`, those whose Slurm job has ended. Unknown state (no squeue): none. */
export async function findStale(containers: readonly ContainerSummary[], run = runCommand): Promise<ContainerSummary[]> {
  const slurmJobs = containers.filter((c) => /^\d+$/.test(c.labels[`${TOOL_LABEL}.job`] ?? ""));
  const ids = [...new Set(slurmJobs.map((c) => c.labels[`${TOOL_LABEL}.job`] ?? ""))];
  const active = await activeJobIds(ids, run);
  if (active === undefined) return [];
  return slurmJobs.filter((c) => !active.has(c.labels[`${TOOL_LABEL}.job`] ?? ""));
}

export async function removeStaleContainers(
  runtime: ContainerRuntime,
  uid: number,
  log: Logger,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const mine = await runtime.list(Object.entries(selectLabels({ uid })).map(([k, v]) => `label=${k}=${v}`));
  const others = mine.filter((c) => c.labels[`${TOOL_LABEL}.job`] !== env.SLURM_JOB_ID);
  if (others.length === 0) return;
  const stale = await findStale(others);
  if (stale.length === 0) return;
  log.info(`removing ${stale.length} container(s) left by ended jobs: ${stale.map((c) => c.name).join(", ")}`);
  await runtime.remove(stale.map((c) => c.name));
}
