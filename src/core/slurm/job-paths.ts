/**
 * Paths of a job's private files. node:path is the one Node module core uses: it is string
 * logic only, and the argv a dry run prints must be built exactly as the run builds it.
 */
import { join } from "node:path";

/** A path segment we build paths from: no separators, no "." or "..". */
export function checkSegment(what: string, value: string): string {
  if (value === "" || value === "." || value === ".." || /[/\0]/.test(value)) {
    throw new Error(`internal error: unsafe ${what} ${JSON.stringify(value)} for a job path (please report)`);
  }
  return value;
}

/**
 * The key of one run of a job step: `<job>.<step>`, then `.r<N>` for the job's N-th requeued
 * run (SLURM_RESTART_COUNT). A requeued job keeps its id and numbers its steps from 0 again,
 * while its first run's teardown may have been cut short (the requeue's SIGKILL): every job
 * dir, container name and handshake of a run carries this key, so no run meets another's.
 */
export function jobStepKey(run: {
  readonly jobId: string;
  readonly stepId: string;
  readonly restartCount?: number;
}): string {
  const base = `${run.jobId}.${run.stepId}`;
  return run.restartCount === undefined || run.restartCount === 0 ? base : `${base}.r${run.restartCount}`;
}

/** The run a jobStepKey names: the restart count after `.r`, 0 without one. */
export function restartOfJobStepKey(key: string): number {
  const m = /\.r(\d+)$/.exec(key);
  return m === null ? 0 : Number(m[1]);
}

/**
 * <jobs dir>/<jobStepKey>/<node>: per node, because the home is shared and every node
 * writes its own files.
 */
export function jobDirPath(jobsDir: string, jobKey: string, node: string): string {
  return join(jobsDir, checkSegment("job key", jobKey), checkSegment("node", node));
}
