// What Slurm says about jobs, through squeue (any user may ask about any job).
import { runCommand } from "../process/index.js";

/**
 * Of `ids`, the Slurm jobs still pending, running or finishing; undefined when squeue cannot
 * say (not installed, no controller): then nothing may be taken for ended.
 */
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
